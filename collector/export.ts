/**
 * `costtrace export --db FILE --out DIR [--start-date YYYY-MM-DD] [--end-date YYYY-MM-DD]` (CONTRACT.md §10):
 * the database as Parquet any reader can open — `records/day=YYYY-MM-DD/*.parquet` (hive style, by each record's
 * UTC day), `customers/`, `rollups/` (the 15-minute rollup) and `traces/` (one row per trace: root, customer,
 * start, total cost, span count, unpriced). Money stays DECIMAL(38,12).
 *
 * Reads the file read-only with DuckDB's own Parquet writer. A file held by a running server cannot be opened
 * (DuckDB locks it): the message says to export a snapshot (`POST /v1/admin/snapshot`) instead.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { parseCivilDate } from './metrics/calendar.ts';
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
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(o.dbPath, {
      access_mode: 'READ_ONLY',
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/lock/i.test(message)) {
      throw new ExportError(
        `${o.dbPath} is in use by a running costtrace (the database is locked); take a snapshot with ` +
          'POST /v1/admin/snapshot and export the snapshot, or stop the server first',
      );
    }
    throw new ExportError(`cannot open ${o.dbPath}: ${message}`);
  }
  const conn = await instance.connect();
  try {
    await conn.run(`SET TimeZone = 'UTC'`);
    const version = Number(
      (await conn.runAndReadAll(`SELECT value FROM costtrace_meta WHERE key = 'schema_version'`)).getRows()[0]?.[0],
    );
    // Read-only, so no upgrade: any version up to ours has the tables exported (summaries from version 4 on).
    if (!(version <= latestVersion())) {
      throw new ExportError(
        `${o.dbPath} has schema version ${version}, newer than this costtrace (${latestVersion()}); upgrade costtrace`,
      );
    }
    const hasSummaries = version >= 4;
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
    // Traces whose spans retention removed come from their summaries (no root customer or unpriced flag kept).
    const removedTraces = hasSummaries
      ? `UNION ALL SELECT trace_id, NULL, NULL, NULL, NULL, min(make_timestamp((start_ns // 1000)::BIGINT)), sum(cost),
           sum(span_count), false
         FROM trace_days WHERE ${where.replaceAll('ts', 'CAST(day AS TIMESTAMP)')} GROUP BY trace_id`
      : '';
    await conn.run(
      `COPY (SELECT trace_id, arg_min(root_name, root_start) AS root_name, arg_min(customer_id, root_start) AS customer_id,
               min(start) AS start, coalesce(sum(total_cost), 0)::DECIMAL(38,12) AS total_cost,
               sum(span_count)::BIGINT AS span_count, bool_or(unpriced) AS unpriced
             FROM (
               SELECT trace_id,
                 arg_min(name, start_time_unix_nano) FILTER (WHERE parent_span_id IS NULL) AS root_name,
                 min(start_time_unix_nano) FILTER (WHERE parent_span_id IS NULL) AS root_start,
                 arg_min(customer_id, start_time_unix_nano) FILTER (WHERE parent_span_id IS NULL) AS customer_id,
                 NULL AS unused, min(ts) AS start, sum(cost_amount) AS total_cost, count(*) AS span_count,
                 bool_or(cost_source = 'unpriced') AS unpriced
               FROM records WHERE source = 'span' AND ${where} GROUP BY trace_id
               ${removedTraces})
             GROUP BY trace_id ORDER BY start, trace_id)
       TO '${out('traces/traces.parquet')}' (FORMAT PARQUET)`,
    );
    const n = (await conn.runAndReadAll(`SELECT count(*) FROM records WHERE ${where}`)).getRows()[0]?.[0];
    return { records: Number(n) };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
