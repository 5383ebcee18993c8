/**
 * Spans as rows of the ClickHouse store's `records` (schema.ts), the same fields the DuckDB store keeps
 * (db/record-row.ts), and the two writes the store's writer is built from: finding which spans of a batch are stored
 * already (by their identity: trace id, span id, start — the table's order key, so the look-up reads only their
 * days' granules), and inserting rows with a deduplication token, so a batch sent again after a lost answer (a
 * crash, a timeout) is dropped by ClickHouse instead of stored twice.
 */
import { createHash } from 'node:crypto';
import { type ClickHouseClient, TupleParam } from '@clickhouse/client';
import { type AttributedSpan, effectiveCustomer } from '../../src/records.ts';
import { identifier, type Placement } from './ddl.ts';
import { dateTime64Text, moneyText } from './values.ts';

/** A `records` row as JSONEachRow sends it (64-bit integers and money as text). */
export interface ClickHouseRecordRow {
  readonly source: 'span' | 'event' | 'allocation';
  readonly trace_id: string;
  readonly span_id: string;
  readonly parent_span_id: string | null;
  readonly name: string;
  readonly kind: number;
  readonly service_name: string | null;
  readonly scope_name: string | null;
  readonly start_time_unix_nano: string;
  readonly end_time_unix_nano: string;
  readonly ts: string;
  readonly status_code: number;
  readonly customer_own: string | null;
  readonly resource_customer: string | null;
  readonly chain_customer: string | null;
  readonly attribution_pending: boolean;
  readonly customer_id: string | null;
  readonly cost_amount: string | null;
  readonly cost_source: string | null;
  readonly revenue_amount: string | null;
  readonly attributes: string;
  readonly ingested_at: string;
  readonly llm_vendor: string | null;
  readonly llm_model: string | null;
  readonly root_key: string | null;
  readonly root_pending: boolean;
  readonly price_version: number | null;
  /** 1 when first written; each re-write (attribution settling, re-pricing) a higher one. */
  readonly row_version: string;
}

/** The row of an attributed span, with its effective customer (as the DuckDB writer resolves it). */
export function spanRow(span: AttributedSpan, ingestedAtMicros: bigint, rowVersion = 1n): ClickHouseRecordRow {
  const { record: s, attribution: a } = span;
  return {
    source: 'span',
    trace_id: s.traceId,
    span_id: s.spanId,
    parent_span_id: s.parentSpanId,
    name: s.name,
    kind: s.kind,
    service_name: s.serviceName,
    scope_name: s.scopeName,
    start_time_unix_nano: s.startTimeUnixNano.toString(),
    end_time_unix_nano: s.endTimeUnixNano.toString(),
    ts: dateTime64Text(s.startTimeUnixNano / 1000n),
    status_code: s.statusCode,
    customer_own: s.customerOwn,
    resource_customer: s.resourceCustomer,
    chain_customer: a.chainCustomer,
    attribution_pending: a.pending,
    customer_id: effectiveCustomer(s, a).customerId,
    cost_amount: moneyText(s.costPicocents),
    cost_source: s.costSource,
    revenue_amount: moneyText(s.revenuePicocents),
    attributes: s.attributesJson,
    ingested_at: dateTime64Text(ingestedAtMicros),
    llm_vendor: s.llmVendor,
    llm_model: s.llmModel,
    root_key: null,
    root_pending: false,
    price_version: s.priceVersion,
    row_version: rowVersion.toString(),
  };
}

/** An insert's deduplication token: its rows' content, so the same rows sent again carry the same token. */
export function contentToken(rows: readonly unknown[]): string {
  const hash = createHash('sha256');
  for (const r of rows) hash.update(JSON.stringify(r)).update('\n');
  return hash.digest('hex');
}

export async function insertRecordRows(
  client: ClickHouseClient,
  p: Placement,
  rows: readonly ClickHouseRecordRow[],
): Promise<void> {
  if (rows.length === 0) return;
  await client.insert({
    table: `${identifier('database', p.database)}.records`,
    values: rows as ClickHouseRecordRow[],
    format: 'JSONEachRow',
    // async_insert off: a server's async-insert queue would not deduplicate by the token (its default here is on).
    clickhouse_settings: { insert_deduplication_token: contentToken(rows), async_insert: 0 },
  });
}

export interface SpanIdentity {
  readonly traceId: string;
  readonly spanId: string;
  /** Start, µs. */
  readonly tsMicros: bigint;
}

export const identityKey = (traceId: string, spanId: string, ts: string): string => `${traceId}/${spanId}/${ts}`;

/**
 * The identities of `spans` already in `records`, as `identityKey` strings: one query, its keys bound as a typed
 * parameter (an array of tuples), bounded to their days so only those granules are read.
 */
export async function storedSpanKeys(
  client: ClickHouseClient,
  p: Placement,
  spans: readonly SpanIdentity[],
): Promise<Set<string>> {
  if (spans.length === 0) return new Set();
  const tuples = spans.map((s) => [s.traceId, s.spanId, dateTime64Text(s.tsMicros)] as const);
  const days = [...new Set(tuples.map(([, , ts]) => ts.slice(0, 10)))];
  const result = await client.query({
    query: `SELECT DISTINCT trace_id, span_id, toString(ts) AS ts_text FROM ${identifier('database', p.database)}.records
      WHERE toDate(ts) IN {days:Array(Date)}
        AND (trace_id, span_id, ts) IN {keys:Array(Tuple(String, String, DateTime64(6, 'UTC')))}`,
    query_params: { days, keys: tuples.map((t) => new TupleParam([...t])) },
    format: 'JSONEachRow',
  });
  // (`ts_text`, not `ts`: a ClickHouse alias is visible in WHERE and would shadow the column there.)
  const found = (await result.json()) as Array<{ trace_id: string; span_id: string; ts_text: string }>;
  return new Set(found.map((r) => identityKey(r.trace_id, r.span_id, r.ts_text)));
}
