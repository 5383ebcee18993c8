/**
 * Upgrades in place: schema version 3 (the first released layout, `schema.ts`) plus an ordered list of numbered
 * migrations. Opening a file runs the migrations it has not seen, all in one transaction: a failure rolls back
 * and leaves the file as it was, and the collector refuses to start with a message saying what failed. A file
 * written by a newer costtrace is refused (never downgraded). Every schema change from now on is a migration
 * here, and `test/collector/db/upgrade.test.ts` opens the committed schema-3 fixture with it.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { transaction } from './transaction.ts';

export interface Migration {
  /** The schema version this migration produces (consecutive from BASE_SCHEMA_VERSION + 1). */
  readonly version: number;
  readonly description: string;
  up(conn: DuckDBConnection): Promise<void>;
}

/** The layout `schema.ts` creates: new files start there and run every migration, like upgraded ones. */
export const BASE_SCHEMA_VERSION = 3;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 4,
    description: 'summaries of spans removed by retention (trace days, cost-driver slots, trace roots)',
    async up(conn) {
      // What trace lists need of removed spans, per trace, customer and UTC day (windows are whole UTC days).
      await conn.run(`CREATE TABLE trace_days (
        trace_id VARCHAR NOT NULL, customer_id VARCHAR, day DATE NOT NULL, cost DECIMAL(38,12),
        span_count BIGINT NOT NULL, start_ns UBIGINT NOT NULL, first_name VARCHAR NOT NULL)`);
      await conn.run('CREATE INDEX trace_days_trace ON trace_days (trace_id)');
      // What cost drivers need, per trace, customer, 15-minute slot (windows are local days: unions of slots)
      // and grouping key.
      await conn.run(`CREATE TABLE driver_slots (
        trace_id VARCHAR NOT NULL, customer_key INTEGER, slot TIMESTAMP NOT NULL, llm_model VARCHAR,
        llm_vendor VARCHAR, service_name VARCHAR, cost DECIMAL(38,12) NOT NULL, records BIGINT NOT NULL)`);
      // Root spans removed, so traces keep their root name (arg_min by start across removed and live roots).
      await conn.run(`CREATE TABLE trace_roots (
        trace_id VARCHAR NOT NULL, root_name VARCHAR NOT NULL, root_start_ns UBIGINT NOT NULL)`);
    },
  },
  {
    version: 5,
    description: 'per-trace summaries of every settled span, kept at ingest (plus unpriced spans per trace day)',
    async up(conn) {
      // Summaries now hold every trace: the index (kept for "was this trace removed?") would grow with all of
      // them and slow every ingest; that rare question scans instead.
      await conn.run('DROP INDEX trace_days_trace');
      await conn.run('ALTER TABLE trace_days ADD COLUMN unpriced_spans BIGINT DEFAULT 0');
      // Fold the spans stored so far (frozen copy of trace-summaries.ts foldParts as of version 5: a migration
      // must keep doing what it did when later code changes).
      const parts = `SELECT trace_id, customer_id, customer_key, ts, start_time_unix_nano AS start_ns, name,
          parent_span_id IS NULL AS is_root, cost_amount AS cost, cost_source = 'unpriced' AS unpriced, llm_model,
          llm_vendor, service_name
        FROM records WHERE source = 'span' AND NOT attribution_pending`;
      await conn.run(`INSERT INTO trace_days
        SELECT trace_id, customer_id, CAST(ts AS DATE), sum(cost), count(*), min(start_ns),
          arg_min(name, (start_ns, name)), count(*) FILTER (WHERE unpriced)
        FROM (${parts}) GROUP BY trace_id, customer_id, CAST(ts AS DATE)`);
      await conn.run(`INSERT INTO driver_slots
        SELECT trace_id, customer_key, time_bucket(INTERVAL 15 MINUTE, ts), llm_model, llm_vendor, service_name,
          sum(cost), count(*)
        FROM (${parts}) WHERE cost IS NOT NULL GROUP BY ALL`);
      await conn.run(`INSERT INTO trace_roots
        SELECT trace_id, arg_min(name, (start_ns, name)), min(start_ns) FROM (${parts}) WHERE is_root GROUP BY trace_id`);
    },
  },
  {
    version: 6,
    description: 'price books (versions kept) and the book version that priced each record',
    async up(conn) {
      await conn.run('ALTER TABLE records ADD COLUMN price_version INTEGER');
      await conn.run(`CREATE TABLE price_books (
        version INTEGER PRIMARY KEY, created_at TIMESTAMP NOT NULL, origin VARCHAR NOT NULL, book VARCHAR NOT NULL)`);
    },
  },
  {
    version: 7,
    description: 'fixed-cost allocation: the UTC days allocated and the book version used',
    async up(conn) {
      await conn.run(`CREATE TABLE allocated_days (
        day DATE PRIMARY KEY, price_version INTEGER, allocated_at TIMESTAMP NOT NULL)`);
    },
  },
  {
    version: 8,
    description: 'billing bridge: webhook deliveries, billing customer ids, the Polar forwarding outbox',
    async up(conn) {
      await conn.run(`CREATE TABLE webhook_deliveries (
        provider VARCHAR NOT NULL, delivery_id VARCHAR NOT NULL, received_at TIMESTAMP NOT NULL, booked VARCHAR,
        PRIMARY KEY (provider, delivery_id))`);
      await conn.run(`CREATE TABLE billing_customers (
        provider VARCHAR NOT NULL, provider_customer_id VARCHAR NOT NULL, customer_id VARCHAR NOT NULL,
        PRIMARY KEY (provider, provider_customer_id))`);
      // No key or sequence: the writer numbers rows itself (outbox.ts), so queuing a batch is one append.
      await conn.run(`CREATE TABLE polar_outbox (
        seq BIGINT NOT NULL, external_id VARCHAR NOT NULL,
        customer_id VARCHAR NOT NULL, name VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, cost DECIMAL(38,12) NOT NULL,
        llm_vendor VARCHAR, llm_model VARCHAR, attributes VARCHAR, parked_reason VARCHAR, parked_at TIMESTAMP)`);
    },
  },
  {
    version: 9,
    description: 'budgets per customer (and the * default) and their threshold crossings (the alert outbox)',
    async up(conn) {
      await conn.run(`CREATE TABLE budgets (
        customer_id VARCHAR PRIMARY KEY, amount DECIMAL(38,12) NOT NULL, budget_window VARCHAR NOT NULL,
        thresholds DECIMAL(9,6)[] NOT NULL, webhook_url VARCHAR, updated_at TIMESTAMP NOT NULL)`);
      await conn.run(`CREATE TABLE budget_alerts (
        customer_id VARCHAR NOT NULL, window_start TIMESTAMP NOT NULL, threshold DECIMAL(9,6) NOT NULL,
        window_end TIMESTAMP NOT NULL, amount DECIMAL(38,12) NOT NULL, spent DECIMAL(38,12) NOT NULL,
        webhook_url VARCHAR, crossed_at TIMESTAMP NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TIMESTAMP NOT NULL, delivered_at TIMESTAMP, parked_at TIMESTAMP, last_error VARCHAR,
        PRIMARY KEY (customer_id, window_start, threshold))`);
    },
  },
  {
    version: 10,
    description: 'usage meters and what they measured per customer per 15-minute slot',
    async up(conn) {
      await conn.run(`CREATE TABLE meters (
        id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, filter_json VARCHAR NOT NULL, func VARCHAR NOT NULL,
        property VARCHAR, created_at TIMESTAMP NOT NULL)`);
      await conn.run(`CREATE TABLE meter_slots (
        meter_id VARCHAR NOT NULL, customer_key INTEGER NOT NULL, slot TIMESTAMP NOT NULL, events BIGINT NOT NULL,
        total DECIMAL(38,12) NOT NULL, maximum DECIMAL(38,12), PRIMARY KEY (meter_id, customer_key, slot))`);
      await conn.run(`CREATE TABLE meter_values (
        meter_id VARCHAR NOT NULL, customer_key INTEGER NOT NULL, slot TIMESTAMP NOT NULL, value VARCHAR NOT NULL,
        PRIMARY KEY (meter_id, customer_key, slot, value))`);
    },
  },
  {
    version: 11,
    description: 'meter quantities of all customers together per 15-minute slot (a year reads ~35k rows per meter)',
    async up(conn) {
      await conn.run(`CREATE TABLE meter_totals (
        meter_id VARCHAR NOT NULL, slot TIMESTAMP NOT NULL, events BIGINT NOT NULL, total DECIMAL(38,12) NOT NULL,
        maximum DECIMAL(38,12), PRIMARY KEY (meter_id, slot))`);
      await conn.run(`INSERT INTO meter_totals
        SELECT meter_id, slot, sum(events), sum(total), max(maximum) FROM meter_slots GROUP BY meter_id, slot`);
    },
  },
  {
    version: 12,
    description: 'meters measure the records stored before them in chunks (how far: backfill_cursor_us, null = all)',
    async up(conn) {
      // Meters of earlier versions measured everything in their defining transaction: null (complete).
      await conn.run('ALTER TABLE meters ADD COLUMN backfill_cursor_us BIGINT');
    },
  },
  {
    version: 13,
    description: 'insight indexes of ended periods: the rollup per customer and month, one row per trace and day',
    async up(conn) {
      // Empty: the collector's insight indexer fills them in the background (reads use the live tables meanwhile).
      await conn.run(`CREATE TABLE rollup_months (
        customer_key INTEGER NOT NULL, month DATE NOT NULL, revenue DECIMAL(38,12) NOT NULL,
        costs DECIMAL(38,12) NOT NULL, records BIGINT NOT NULL, PRIMARY KEY (customer_key, month))`);
      await conn.run(`CREATE TABLE trace_index (
        day DATE NOT NULL, trace_id VARCHAR NOT NULL, root_name VARCHAR, cost DECIMAL(38,12),
        span_count BIGINT NOT NULL, whole BOOLEAN NOT NULL)`);
      await conn.run(`CREATE TABLE indexed_periods (kind VARCHAR NOT NULL, period DATE NOT NULL,
        PRIMARY KEY (kind, period))`);
    },
  },
  {
    version: 14,
    description: 'meters a write path could not evaluate are disabled (why, when); re-pricing runs and their progress',
    async up(conn) {
      await conn.run('ALTER TABLE meters ADD COLUMN disabled_reason VARCHAR');
      await conn.run('ALTER TABLE meters ADD COLUMN disabled_at TIMESTAMP');
      // One row per POST /v1/prices/reprice: its window, the book it used, how far it got (µs, a chunk's end,
      // committed with that chunk) and when it finished (null: running, or interrupted by a stop or crash).
      await conn.run(`CREATE TABLE reprice_runs (
        id INTEGER PRIMARY KEY, started_at TIMESTAMP NOT NULL, from_us BIGINT NOT NULL, to_us BIGINT NOT NULL,
        price_version INTEGER NOT NULL, done_through_us BIGINT, finished_at TIMESTAMP, records BIGINT NOT NULL,
        changed BIGINT NOT NULL, delta DECIMAL(38,12) NOT NULL)`);
    },
  },
  {
    version: 15,
    description:
      'records without the primary key (its in-memory index grew ~125 MB per million spans), ordered by time',
    async up(conn) {
      // DuckDB cannot drop a primary key in place: copy into the same columns without it, sorted by ts so each row
      // group covers a short time range (re-sent spans are found by their time block: writer/span-dedupe.ts).
      await conn.run(`CREATE TABLE records_v15 (
        source VARCHAR NOT NULL, trace_id VARCHAR NOT NULL, span_id VARCHAR NOT NULL, parent_span_id VARCHAR,
        name VARCHAR NOT NULL, kind UINTEGER NOT NULL, service_name VARCHAR, scope_name VARCHAR,
        start_time_unix_nano UBIGINT NOT NULL, end_time_unix_nano UBIGINT NOT NULL, ts TIMESTAMP NOT NULL,
        status_code UINTEGER NOT NULL, customer_own VARCHAR, resource_customer VARCHAR, chain_customer VARCHAR,
        attribution_pending BOOLEAN NOT NULL, customer_id VARCHAR, customer_key INTEGER, cost_amount DECIMAL(38,12),
        cost_source VARCHAR, revenue_amount DECIMAL(38,12), attributes VARCHAR, ingested_at TIMESTAMP NOT NULL,
        llm_vendor VARCHAR, llm_model VARCHAR, root_key VARCHAR, root_pending BOOLEAN NOT NULL,
        price_version INTEGER)`);
      await conn.run('INSERT INTO records_v15 SELECT * FROM records ORDER BY ts, trace_id, span_id');
      await conn.run('DROP TABLE records');
      await conn.run('ALTER TABLE records_v15 RENAME TO records');
    },
  },
  {
    version: 16,
    description:
      'cost-driver index of ended days: sums, a DDSketch of per-trace costs and outlier candidates per group',
    async up(conn) {
      // derived/driver-index.ts fills them with the insight index's trace days; the days indexed so far are indexed
      // again (read live meanwhile) so every indexed day has both.
      await conn.run(`CREATE TABLE driver_days (day DATE NOT NULL, kind VARCHAR NOT NULL, g VARCHAR,
        cost DECIMAL(38,12) NOT NULL, records BIGINT NOT NULL, traces BIGINT NOT NULL)`);
      await conn.run(`CREATE TABLE driver_buckets (day DATE NOT NULL, kind VARCHAR NOT NULL, g VARCHAR,
        bucket INTEGER NOT NULL, traces BIGINT NOT NULL)`);
      await conn.run(`CREATE TABLE driver_top (day DATE NOT NULL, kind VARCHAR NOT NULL, g VARCHAR,
        trace_id VARCHAR NOT NULL, cost DECIMAL(38,12) NOT NULL)`);
      await conn.run(`CREATE TABLE driver_parts (day DATE NOT NULL, kind VARCHAR NOT NULL, g VARCHAR,
        trace_id VARCHAR NOT NULL, cost DECIMAL(38,12) NOT NULL, records BIGINT NOT NULL)`);
      await conn.run(`DELETE FROM trace_index`);
      await conn.run(`DELETE FROM indexed_periods WHERE kind = 'day'`);
    },
  },
];

export function latestVersion(migrations: readonly Migration[] = MIGRATIONS): number {
  return BASE_SCHEMA_VERSION + migrations.length;
}

/** The file cannot be opened by this version: an upgrade failed, or it is newer or not ours. */
export class SchemaError extends Error {
  override readonly name = 'SchemaError';
}

/**
 * Brings the writer's database from `current` to the latest version in one transaction; returns the versions
 * applied. Throws SchemaError (after ROLLBACK) when a migration fails.
 */
export async function migrate(
  conn: DuckDBConnection,
  path: string,
  current: number,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  const latest = latestVersion(migrations);
  if (current > latest) {
    throw new SchemaError(
      `${path} was written by a newer costtrace (schema version ${current}); this one reads up to ${latest}. ` +
        'Upgrade costtrace; the file was not changed.',
    );
  }
  if (current < BASE_SCHEMA_VERSION) {
    throw new SchemaError(`${path} has schema version ${current}, older than any released costtrace; not opened.`);
  }
  const pending = migrations.filter((m) => m.version > current);
  if (pending.length === 0) return [];
  let running: Migration | undefined;
  try {
    await transaction(conn, async () => {
      for (const m of pending) {
        running = m;
        await m.up(conn);
      }
      await conn.run(`UPDATE costtrace_meta SET value = ? WHERE key = 'schema_version'`, [String(latest)]);
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new SchemaError(
      `could not upgrade ${path} from schema version ${current} to ${latest}: migration ${running?.version} ` +
        `(${running?.description}) failed: ${reason}. The file was not changed; this costtrace cannot open it.`,
    );
  }
  return pending.map((m) => m.version);
}
