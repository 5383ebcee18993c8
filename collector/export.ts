/**
 * `costtrace export --db FILE --out DIR [--start-date YYYY-MM-DD] [--end-date YYYY-MM-DD]` (docs/contract.md §10):
 * the database as Parquet any reader can open — `records/day=YYYY-MM-DD/*.parquet` (hive style, by each record's
 * UTC day), `customers/`, `rollups/` (the 15-minute rollup) and `traces/` (one row per trace: root, customer,
 * start, total cost, span count, unpriced). Money stays DECIMAL(38,12).
 *
 * Reads the file read-only with DuckDB's own Parquet writer; a file of an older schema version is upgraded in a
 * temporary copy first (the user's file is never changed). A file held by a running server cannot be opened
 * (DuckDB locks it): the message says to export a snapshot (`POST /v1/admin/snapshot`) instead.
 *
 * A database file is input, not code (docs/contract.md §12 v3): only costtrace's own base tables are read — a file
 * holding views or macros (costtrace never creates either) is refused before anything runs, and the engine runs
 * with external access off (it may write only inside the output folder), so nothing a crafted file defines can
 * read or write other files. `--db` must be a regular file and `--out` a folder (new, or empty) on an ordinary
 * file system: /proc, /sys, /dev and the kernel's other pseudo file systems, FIFOs and devices are refused.
 */
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  statfsSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { openDatabase } from './db/database.ts';
import { latestVersion } from './db/migrations.ts';
import { parseCivilDate } from './metrics/calendar.ts';

export class ExportError extends Error {
  override readonly name = 'ExportError';
}

export interface ExportOptions {
  readonly dbPath: string;
  readonly outDir: string;
  /** Inclusive UTC days; absent = everything. */
  readonly startDate?: string;
  readonly endDate?: string;
}

export function parseExportArgs(argv: readonly string[]): ExportOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        db: { type: 'string' },
        out: { type: 'string' },
        'start-date': { type: 'string' },
        'end-date': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new ExportError((err as Error).message);
  }
  const text = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const dbPath = text('db');
  const outDir = text('out');
  if (!dbPath || !outDir)
    throw new ExportError('usage: costtrace export --db FILE --out DIR [--start-date D] [--end-date D]');
  const startDate = text('start-date');
  const endDate = text('end-date');
  for (const [flag, d] of [
    ['--start-date', startDate],
    ['--end-date', endDate],
  ] as const) {
    if (d !== undefined && parseCivilDate(d) === null)
      throw new ExportError(`${flag} "${d}" is not a valid date (YYYY-MM-DD)`);
  }
  if (startDate && endDate && endDate < startDate) throw new ExportError('--end-date is before --start-date');
  return { dbPath, outDir, ...(startDate ? { startDate } : {}), ...(endDate ? { endDate } : {}) };
}

/** Folders whose files are the kernel's, not data (Linux; /dev also on macOS). */
const PSEUDO_ROOTS = ['/proc', '/sys', '/dev'] as const;
/** statfs magic numbers of Linux pseudo file systems (linux/magic.h): proc, sysfs, devpts, cgroup(2), debugfs,
 * tracefs, securityfs, bpf, configfs, efivarfs, pstore, binfmt_misc, mqueue, pipefs, sockfs, nsfs, fusectl. */
const PSEUDO_FS_TYPES: ReadonlySet<number> = new Set([
  0x9fa0, 0x62656572, 0x1cd1, 0x27e0eb, 0x63677270, 0x64626720, 0x74726163, 0x73636673, 0xcafe4a11, 0x62656570,
  0xde5e81e4, 0x6165676c, 0x42494e4d, 0x19800202, 0x50495045, 0x534f434b, 0x6e736673, 0x65735543,
]);
/** The tables an export reads: costtrace's own, each a base table. */
const EXPORTED_TABLES = ['costtrace_meta', 'records', 'customers', 'rollup_15m', 'trace_days', 'trace_roots'] as const;

/** Writes the export; returns how many records it holds. */
export async function exportParquet(o: ExportOptions): Promise<{ records: number }> {
  checkDatabaseFile(o.dbPath);
  const version = await readVersion(o.dbPath);
  const outDir = prepareOutDir(o.outDir);
  if (version === latestVersion()) return exportFrom(o.dbPath, outDir, o);
  // An older file is upgraded in a temporary copy (never in place: export does not change the user's file).
  const tmp = mkdtempSync(join(tmpdir(), 'costtrace-export-'));
  try {
    const copy = join(tmp, 'upgraded.duckdb');
    copyFileSync(o.dbPath, copy);
    if (existsSync(`${o.dbPath}.wal`)) copyFileSync(`${o.dbPath}.wal`, `${copy}.wal`);
    try {
      await (await openDatabase(copy)).close();
    } catch (err) {
      throw new ExportError(`cannot upgrade a copy of ${o.dbPath}: ${err instanceof Error ? err.message : err}`);
    }
    return await exportFrom(copy, outDir, o);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function openReadOnly(dbPath: string): Promise<DuckDBInstance> {
  try {
    return await DuckDBInstance.create(dbPath, {
      access_mode: 'READ_ONLY',
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/lock/i.test(message)) {
      throw new ExportError(
        `${dbPath} is in use by a running costtrace (the database is locked); take a snapshot with ` +
          'POST /v1/admin/snapshot and export the snapshot, or stop the server first',
      );
    }
    throw new ExportError(`cannot open ${dbPath}: ${message}`);
  }
}

/** `--db`: an existing regular file (symlinks followed) outside the kernel's pseudo file systems. */
function checkDatabaseFile(dbPath: string): void {
  if (!existsSync(dbPath)) throw new ExportError(`${dbPath} does not exist`);
  const real = realpathSync(dbPath);
  if (!statSync(real).isFile() || isPseudo(real)) {
    throw new ExportError(`${dbPath} is not a regular file (a DuckDB database file is)`);
  }
}

/**
 * `--out`: an empty folder, or a new one whose nearest existing ancestor is a folder; never on a pseudo file system.
 * Missing folders are made one level at a time (a recursive mkdir under /proc never returns). Returns its real path.
 */
function prepareOutDir(outDir: string): string {
  const wanted = resolve(outDir);
  const missing: string[] = [];
  let existing = wanted;
  while (!present(existing)) {
    missing.unshift(existing);
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  const real = realpathSync(existing);
  if (isPseudo(real))
    throw new ExportError(`${outDir} is on a system file system (/proc, /sys, /dev); export elsewhere`);
  if (!statSync(real).isDirectory()) {
    throw new ExportError(
      missing.length === 0 ? `${outDir} exists and is not a folder` : `${existing} is not a folder`,
    );
  }
  if (missing.length === 0 && readdirSync(real).length > 0) {
    throw new ExportError(`${outDir} exists and is not empty; export into a new folder`);
  }
  for (const folder of missing) mkdirSync(folder);
  return realpathSync(wanted);
}

function isPseudo(realPath: string): boolean {
  if (PSEUDO_ROOTS.some((root) => realPath === root || realPath.startsWith(`${root}${sep}`))) return true;
  if (process.platform !== 'linux') return false;
  try {
    return PSEUDO_FS_TYPES.has(statfsSync(realPath).type);
  } catch {
    return true;
  }
}

function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Refuses a file holding views or macros, or whose tables we read are not base tables (checked before any read). */
async function checkOwnTables(conn: DuckDBConnection, dbPath: string, tables: readonly string[]): Promise<void> {
  const count = async (sql: string) => Number((await conn.runAndReadAll(sql)).getRows()[0]?.[0]);
  const views = await count('SELECT count(*) FROM duckdb_views() WHERE NOT internal');
  const macros = await count(
    `SELECT count(*) FROM duckdb_functions() WHERE NOT internal AND function_type IN ('macro', 'table_macro')`,
  );
  if (views > 0 || macros > 0) {
    throw new ExportError(
      `${dbPath} is not a costtrace database: it holds views or macros, which costtrace never creates; not exported`,
    );
  }
  const list = tables.map((t) => `'${t}'`).join(', ');
  const base = await count(
    `SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'
       AND NOT temporary AND table_name IN (${list})`,
  );
  if (base !== tables.length) {
    throw new ExportError(`${dbPath} is not a costtrace database: it lacks one of its tables; not exported`);
  }
}

/** External access off for the rest of the session: only `allowed` (the output folder) may be written or read. */
async function lockDown(conn: DuckDBConnection, allowed?: string): Promise<void> {
  if (allowed !== undefined) {
    await conn.run(`SET allowed_directories = ['${`${allowed}${sep}`.replace(/'/g, "''")}']`);
  }
  await conn.run('SET enable_external_access = false');
  await conn.run('SET lock_configuration = true');
}

async function readVersion(dbPath: string): Promise<number> {
  const instance = await openReadOnly(dbPath);
  const conn = await instance.connect();
  try {
    await lockDown(conn);
    await checkOwnTables(conn, dbPath, ['costtrace_meta', 'records']);
    const rows = await conn
      .runAndReadAll(`SELECT value FROM costtrace_meta WHERE key = 'schema_version'`)
      .then((r) => r.getRows())
      .catch(() => []);
    const version = Number(rows[0]?.[0]);
    if (!Number.isInteger(version)) throw new ExportError(`${dbPath} is not a costtrace database`);
    if (version > latestVersion()) {
      throw new ExportError(
        `${dbPath} has schema version ${version}, newer than this costtrace (${latestVersion()}); upgrade costtrace`,
      );
    }
    return version;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

async function exportFrom(dbPath: string, outDir: string, o: ExportOptions): Promise<{ records: number }> {
  const instance = await openReadOnly(dbPath);
  const conn = await instance.connect();
  try {
    await conn.run(`SET TimeZone = 'UTC'`);
    await lockDown(conn, outDir);
    await checkOwnTables(conn, o.dbPath, EXPORTED_TABLES);
    const from = o.startDate ? `ts >= TIMESTAMP '${o.startDate}'` : 'true';
    const to = o.endDate ? `ts < TIMESTAMP '${o.endDate}' + INTERVAL 1 DAY` : 'true';
    const where = `${from} AND ${to}`;
    const slotWhere = where.replaceAll('ts', 'slot');
    for (const sub of ['customers', 'rollups', 'traces']) mkdirSync(join(outDir, sub));
    const out = (sub: string) => `${outDir.replace(/'/g, "''")}/${sub}`;
    await conn.run(
      `COPY (SELECT *, strftime(ts, '%Y-%m-%d') AS day FROM records WHERE ${where})
       TO '${out('records')}' (FORMAT PARQUET, PARTITION_BY (day))`,
    );
    await conn.run(
      `COPY (SELECT * FROM customers ORDER BY customer_key) TO '${out('customers/customers.parquet')}' (FORMAT PARQUET)`,
    );
    await conn.run(
      `COPY (SELECT * FROM rollup_15m WHERE ${slotWhere} ORDER BY slot, customer_key)
       TO '${out('rollups/rollup_15m.parquet')}' (FORMAT PARQUET)`,
    );
    // One row per trace from its summaries (trace-summaries.ts) and its spans still pending; the customer is
    // that of the trace's earliest span in the window; spans removed by a version-4 file's retention have no
    // unpriced count (0).
    await conn.run(
      `COPY (
         WITH parts AS (
           SELECT trace_id, customer_id, start_ns, cost, span_count, unpriced_spans FROM trace_days
           WHERE ${where.replaceAll('ts', 'CAST(day AS TIMESTAMP)')}
           UNION ALL
           SELECT trace_id, customer_id, start_time_unix_nano, cost_amount, 1, (cost_source = 'unpriced')::BIGINT
           FROM records WHERE source = 'span' AND attribution_pending AND ${where}),
         roots AS (SELECT trace_id, arg_min(root_name, (root_start_ns, root_name)) AS root_name FROM trace_roots
           GROUP BY trace_id)
         SELECT p.trace_id, any_value(r.root_name) AS root_name, arg_min(p.customer_id, p.start_ns) AS customer_id,
           make_timestamp((min(p.start_ns) // 1000)::BIGINT) AS start,
           coalesce(sum(p.cost), 0)::DECIMAL(38,12) AS total_cost, sum(p.span_count)::BIGINT AS span_count,
           sum(p.unpriced_spans) > 0 AS unpriced
         FROM parts p LEFT JOIN roots r USING (trace_id)
         GROUP BY p.trace_id ORDER BY start, trace_id)
       TO '${out('traces/traces.parquet')}' (FORMAT PARQUET)`,
    );
    const n = (await conn.runAndReadAll(`SELECT count(*) FROM records WHERE ${where}`)).getRows()[0]?.[0];
    return { records: Number(n) };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
