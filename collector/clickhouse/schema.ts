/**
 * The ClickHouse store's schema, versioned like the DuckDB one (db/migrations.ts): migration N's statements are
 * idempotent (IF NOT EXISTS), so a start interrupted mid-migration, or two collectors starting at once, apply it again
 * harmlessly; `costtrace_schema` records each version applied. Money is Decimal(38,12) (cents, 12 decimals, exact),
 * times DateTime64(6, 'UTC') (µs, the DuckDB store's `ts`) beside the exact nanoseconds.
 *
 * Version 1 (docs/clickhouse.md, "Schema"):
 * - `records`: spans and events as in DuckDB. ReplacingMergeTree(row_version), ordered by (day, trace id, span id,
 *   start): a row's identity is its order key, so a span stored twice (a re-send the writer could not see, a batch
 *   retried after a crash) collapses to one row on merge, and reads that must not see both use `FINAL`. Attribution
 *   settling a pending span, or re-pricing, writes the row again with a higher `row_version`. Monthly partitions:
 *   retention drops or rewrites whole months; a read of a window prunes the others.
 * - `rollup_15m`: per customer and 15-minute slot, revenue, costs, records — SummingMergeTree (a change is a row of
 *   differences: a span moving to another customer adds −x there and +x here). Customer '' = unattributed.
 * - `customers`: what was learnt of each customer, a row per change (first sighting, an earlier sighting, an upsert
 *   through the API); its current state is their aggregate (customers.ts `CUSTOMER_STATE`): created_at the latest
 *   upsert's if any, else the earliest sighting; name and email the latest given. The writer adds a row only when
 *   something changed, so the table grows with customers, not spans.
 * - `records_to_rollup`: a materialized view adding each newly written record (`row_version = 1`) to `rollup_15m` in
 *   the same insert — atomic with the records, and dropped with them when their deduplication token repeats. Re-writes
 *   (`row_version > 1`: attribution settling, re-pricing) are not counted by it: their writer inserts the rollup's
 *   differences itself, first, under a token made of the change (docs/clickhouse.md, "Writes").
 */
import { createTable, identifier, localName, type Placement, type TableSpec } from './ddl.ts';

const MONEY = 'Decimal(38, 12)';
const TIME = "DateTime64(6, 'UTC')";

export const SCHEMA_TABLE: TableSpec = {
  name: 'costtrace_schema',
  columns: ['version UInt32', `applied_at ${TIME}`],
  engine: 'MergeTree',
  orderBy: 'version',
};

export const RECORDS: TableSpec = {
  name: 'records',
  columns: [
    'source LowCardinality(String)',
    'trace_id String',
    'span_id String',
    'parent_span_id Nullable(String)',
    'name String',
    'kind UInt32',
    'service_name Nullable(String)',
    'scope_name Nullable(String)',
    'start_time_unix_nano UInt64',
    'end_time_unix_nano UInt64',
    `ts ${TIME}`,
    'status_code UInt32',
    'customer_own Nullable(String)',
    'resource_customer Nullable(String)',
    'chain_customer Nullable(String)',
    'attribution_pending Bool',
    'customer_id Nullable(String)',
    `cost_amount Nullable(${MONEY})`,
    'cost_source LowCardinality(Nullable(String))',
    `revenue_amount Nullable(${MONEY})`,
    'attributes String',
    `ingested_at ${TIME}`,
    'llm_vendor LowCardinality(Nullable(String))',
    'llm_model LowCardinality(Nullable(String))',
    'root_key Nullable(String)',
    'root_pending Bool',
    'price_version Nullable(UInt32)',
    'row_version UInt64',
    // A trace's spans are found without reading every day's granules.
    'INDEX trace_bloom trace_id TYPE bloom_filter GRANULARITY 4',
  ],
  engine: 'ReplacingMergeTree',
  engineArgs: ['row_version'],
  partitionBy: 'toYYYYMM(ts)',
  orderBy: '(toDate(ts), trace_id, span_id, ts)',
  // Immutable per row (identity, not customer): a row written again lands where its first version is.
  shardBy: "cityHash64(if(trace_id = '', span_id, trace_id))",
};

export const ROLLUP: TableSpec = {
  name: 'rollup_15m',
  columns: ['customer_id String', `slot ${TIME}`, `revenue ${MONEY}`, `costs ${MONEY}`, 'records Int64'],
  engine: 'SummingMergeTree',
  engineArgs: ['(revenue, costs, records)'],
  partitionBy: 'toYYYYMM(slot)',
  orderBy: '(customer_id, slot)',
  shardBy: 'cityHash64(customer_id)',
};

export const CUSTOMERS: TableSpec = {
  name: 'customers',
  columns: [
    'external_id String',
    'name Nullable(String)',
    'email Nullable(String)',
    `created_at ${TIME}`,
    'created_explicitly Bool',
    `updated_at ${TIME}`,
  ],
  engine: 'MergeTree',
  orderBy: '(external_id, updated_at)',
  shardBy: 'cityHash64(external_id)',
};

/** The view feeding the rollup from new records (on a cluster: from each shard's local records, through the
 * Distributed rollup, which re-shards by customer). */
export function rollupView(p: Placement): string {
  const db = identifier('database', p.database);
  const cluster = p.cluster === undefined ? '' : ` ON CLUSTER ${identifier('cluster', p.cluster)}`;
  return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.records_to_rollup${cluster} TO ${db}.${ROLLUP.name} AS
SELECT ifNull(customer_id, '') AS customer_id, toStartOfInterval(ts, INTERVAL 15 MINUTE) AS slot,
  toDecimal128(sum(ifNull(revenue_amount, toDecimal128(0, 12))), 12) AS revenue,
  toDecimal128(sum(ifNull(cost_amount, toDecimal128(0, 12))), 12) AS costs, toInt64(count()) AS records
FROM ${db}.${localName(RECORDS, p)} WHERE row_version = 1 GROUP BY customer_id, slot`;
}

export interface ClickHouseMigration {
  readonly version: number;
  readonly what: string;
  statements(p: Placement): string[];
}

export const CLICKHOUSE_MIGRATIONS: readonly ClickHouseMigration[] = [
  {
    version: 1,
    what: 'records, rollup_15m (fed by records_to_rollup), customers',
    statements: (p) => [...[RECORDS, ROLLUP, CUSTOMERS].flatMap((t) => createTable(t, p)), rollupView(p)],
  },
];

export const CLICKHOUSE_SCHEMA_VERSION = Math.max(...CLICKHOUSE_MIGRATIONS.map((m) => m.version));
