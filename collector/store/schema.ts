/**
 * DuckDB schema. One `records` table holds every cost-bearing record (spans now; events share it via
 * `source`) so metrics read one stream. Money is DECIMAL(38,12): cents with 12 decimal places, summed
 * exactly by DuckDB (128-bit integer arithmetic), never as binary floats.
 * Nanosecond times are kept exactly (UBIGINT); `ts` is the start time at µs, the axis for metrics.
 */
export const SCHEMA_VERSION = 1;

export const CREATE_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS costtrace_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS records (
    source VARCHAR NOT NULL,
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    parent_span_id VARCHAR,
    name VARCHAR NOT NULL,
    kind UINTEGER NOT NULL,
    service_name VARCHAR,
    scope_name VARCHAR,
    start_time_unix_nano UBIGINT NOT NULL,
    end_time_unix_nano UBIGINT NOT NULL,
    ts TIMESTAMP NOT NULL,
    status_code UINTEGER NOT NULL,
    customer_own VARCHAR,
    resource_customer VARCHAR,
    chain_customer VARCHAR,
    attribution_pending BOOLEAN NOT NULL,
    customer_id VARCHAR,
    cost_amount DECIMAL(38,12),
    cost_source VARCHAR,
    revenue_amount DECIMAL(38,12),
    attributes VARCHAR, -- JSON object text of the allow-listed attributes
    ingested_at TIMESTAMP NOT NULL,
    PRIMARY KEY (trace_id, span_id)
  )`,
];

/** Column order used by the Appender (staging table has the same columns, no key). */
export const RECORD_COLUMNS = [
  'source',
  'trace_id',
  'span_id',
  'parent_span_id',
  'name',
  'kind',
  'service_name',
  'scope_name',
  'start_time_unix_nano',
  'end_time_unix_nano',
  'ts',
  'status_code',
  'customer_own',
  'resource_customer',
  'chain_customer',
  'attribution_pending',
  'customer_id',
  'cost_amount',
  'cost_source',
  'revenue_amount',
  'attributes',
  'ingested_at',
] as const;

export const CREATE_STAGING: readonly string[] = [
  `CREATE TEMP TABLE IF NOT EXISTS stage_records AS SELECT * FROM records LIMIT 0`,
  `CREATE TEMP TABLE IF NOT EXISTS stage_attribution (
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    chain_customer VARCHAR,
    attribution_pending BOOLEAN NOT NULL,
    customer_id VARCHAR
  )`,
];
