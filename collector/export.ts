/**
 * `costtrace export --db FILE --out DIR [--start-date YYYY-MM-DD] [--end-date YYYY-MM-DD]` (CONTRACT.md §10):
 * the database as Parquet any reader can open — `records/day=YYYY-MM-DD/*.parquet` (hive style, by each record's
 * UTC day), `customers/`, `rollups/` (the 15-minute rollup) and `traces/` (one row per trace: root, customer,
 * start, total cost, span count, unpriced). Money stays DECIMAL(38,12).
 *
 * Reads the file read-only with DuckDB's own Parquet writer; a file of an older schema version is upgraded in a
 * temporary copy first (the user's file is never changed). A file held by a running server cannot be opened
 * (DuckDB locks it): the message says to export a snapshot (`POST /v1/admin/snapshot`) instead.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { parseCivilDate } from './metrics/calendar.ts';
import { openDatabase } from './store/database.ts';
import { latestVersion } from './store/migrations.ts';

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

/** Writes the export; returns how many records it holds. */
export async function exportParquet(o: ExportOptions): Promise<{ records: number }> {
  if (!existsSync(o.dbPath)) throw new ExportError(`${o.dbPath} does not exist`);
  if (existsSync(o.outDir) && readdirSync(o.outDir).length > 0) {
    throw new ExportError(`${o.outDir} exists and is not empty; export into a new folder`);
  }
  const version = await readVersion(o.dbPath);
  if (version === latestVersion()) return exportFrom(o.dbPath, o);
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
    return await exportFrom(copy, o);
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

async function readVersion(dbPath: string): Promise<number> {
  const instance = await openReadOnly(dbPath);
  const conn = await instance.connect();
  try {
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

async function exportFrom(dbPath: string, o: ExportOptions): Promise<{ records: number }> {
  const instance = await openReadOnly(dbPath);
  const conn = await instance.connect();
  try {
    await conn.run(`SET TimeZone = 'UTC'`);
    const from = o.startDate ? `ts >= TIMESTAMP '${o.startDate}'` : 'true';
    const to = o.endDate ? `ts < TIMESTAMP '${o.endDate}' + INTERVAL 1 DAY` : 'true';
    const where = `${from} AND ${to}`;
    const slotWhere = where.replaceAll('ts', 'slot');
    for (const sub of ['', 'customers', 'rollups', 'traces']) mkdirSync(`${o.outDir}/${sub}`, { recursive: true });
    const out = (sub: string) => `${o.outDir.replace(/'/g, "''")}/${sub}`;
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
