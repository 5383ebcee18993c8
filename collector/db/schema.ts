/**
 * DuckDB schema. One `records` table holds every cost-bearing record (spans now; events share it via
 * `source`) so metrics read one stream. Money is DECIMAL(38,12): cents with 12 decimal places, summed
 * exactly by DuckDB (128-bit integer arithmetic), never as binary floats.
 * Nanosecond times are kept exactly (UBIGINT); `ts` is the start time at µs, the axis for metrics.
 *
 * Events (events API) live in the same table: `source = 'event'`, `trace_id = ''`, `span_id` = the
 * event's external_id (or a generated UUID), `parent_span_id` = its `parent_id` reference, and
 * `root_key` = the id of its root event once the chain is known (`root_pending` until then).
 * Spans leave `root_key` NULL: their tree is the trace.
 */
/** This file creates schema version 3 (migrations.ts BASE_SCHEMA_VERSION); later changes are migrations. */

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
    customer_key INTEGER,
    cost_amount DECIMAL(38,12),
    cost_source VARCHAR,
    revenue_amount DECIMAL(38,12),
    attributes VARCHAR, -- JSON object text of the allow-listed attributes
    ingested_at TIMESTAMP NOT NULL,
    llm_vendor VARCHAR,
    llm_model VARCHAR,
    root_key VARCHAR,
    root_pending BOOLEAN NOT NULL,
    PRIMARY KEY (trace_id, span_id)
  )`,
  // Activity per customer per 15 minutes (UTC), kept in step with records at ingest: metrics read this
  // instead of every record. 15 minutes divides every real UTC offset (+05:30, +05:45, +12:45), so local
  // days, weeks, months and years are exact unions of slots. customer_key 0 = unattributed.
  `CREATE TABLE IF NOT EXISTS rollup_15m (
    customer_key INTEGER NOT NULL,
    slot TIMESTAMP NOT NULL,
    revenue DECIMAL(38,12) NOT NULL,
    costs DECIMAL(38,12) NOT NULL,
    records BIGINT NOT NULL,
    PRIMARY KEY (customer_key, slot)
  )`,
  // One identity per customer: spans and events name customers by external id; the integer key makes
  // per-customer scans and distinct counts cheap.
  `CREATE TABLE IF NOT EXISTS customers (
    customer_key INTEGER PRIMARY KEY,
    external_id VARCHAR NOT NULL UNIQUE,
    name VARCHAR,
    email VARCHAR,
    created_at TIMESTAMP NOT NULL,
    created_explicitly BOOLEAN NOT NULL
  )`,
];

/** Row layout (column order for the Appender): db/record-row.ts. */
export const CREATE_STAGING: readonly string[] = [
  `CREATE TEMP TABLE IF NOT EXISTS stage_rollup (
    customer_key INTEGER NOT NULL,
    slot TIMESTAMP NOT NULL,
    revenue DECIMAL(38,12) NOT NULL,
    costs DECIMAL(38,12) NOT NULL,
    records BIGINT NOT NULL
  )`,
  // A batch's span keys, looked up in records by time block (writer/span-dedupe.ts).
  `CREATE TEMP TABLE IF NOT EXISTS stage_span_keys (trace_id VARCHAR NOT NULL, span_id VARCHAR NOT NULL, ts TIMESTAMP NOT NULL)`,
  `CREATE TEMP TABLE IF NOT EXISTS stage_attribution (
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    chain_customer VARCHAR,
    attribution_pending BOOLEAN NOT NULL,
    customer_id VARCHAR,
    customer_key INTEGER
  )`,
  // One fold's meter parts per customer and slot, before they are added to meter_slots and meter_totals.
  `CREATE TEMP TABLE IF NOT EXISTS stage_meter_parts (
    meter_id VARCHAR NOT NULL,
    customer_key INTEGER NOT NULL,
    slot TIMESTAMP NOT NULL,
    events BIGINT NOT NULL,
    total DECIMAL(38,12) NOT NULL,
    maximum DECIMAL(38,12)
  )`,
  // Settled records written from memory, as meters see them (features/meters/meters.ts); used only when a meter exists.
  `CREATE TEMP TABLE IF NOT EXISTS stage_meter_input (
    source VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    attributes VARCHAR,
    customer_key INTEGER,
    ts TIMESTAMP NOT NULL
  )`,
];
