/**
 * Cost traces on the ClickHouse store, as the DuckDB store answers them (reads/span-reads.ts): a trace's spans, and
 * the trace list — per trace, cost, span count, earliest start and its name, unpriced spans — of one customer or
 * all, in a window, sorted and paged. Settled spans are counted by their UTC day (as the DuckDB store's per-day
 * summaries are) and spans still pending by their start; `FINAL` so a re-written span counts as its latest version.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { CostSource, JsonValue } from '../../src/records.ts';
import { type StoredSpan, TRACE_SORTS, type TraceListQuery, type TraceSummary } from '../core/trace-shapes.ts';
import { identifier, type Placement } from './ddl.ts';
import { picocentsOf } from './values.ts';

interface SpanRow {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  name: string;
  kind: number;
  service_name: string | null;
  start_ns: string;
  end_ns: string;
  customer_own: string | null;
  chain_customer: string | null;
  resource_customer: string | null;
  attribution_pending: boolean;
  cost: string | null;
  cost_source: string | null;
  revenue: string | null;
  attributes: string;
  price_version: number | null;
}

export async function readClickHouseTraceSpans(
  client: ClickHouseClient,
  p: Placement,
  traceId: string,
): Promise<StoredSpan[]> {
  const result = await client.query({
    query: `SELECT trace_id, span_id, parent_span_id, name, kind, service_name,
        toString(start_time_unix_nano) AS start_ns, toString(end_time_unix_nano) AS end_ns, customer_own,
        chain_customer, resource_customer, attribution_pending, toString(cost_amount) AS cost, cost_source,
        toString(revenue_amount) AS revenue, attributes, price_version
      FROM ${identifier('database', p.database)}.records FINAL
      WHERE trace_id = {trace:String} AND source = 'span' ORDER BY start_time_unix_nano, span_id`,
    query_params: { trace: traceId },
    format: 'JSONEachRow',
  });
  return ((await result.json()) as SpanRow[]).map((r) => ({
    traceId: r.trace_id,
    spanId: r.span_id,
    parentSpanId: r.parent_span_id,
    name: r.name,
    kind: r.kind,
    serviceName: r.service_name,
    startTimeUnixNano: BigInt(r.start_ns),
    endTimeUnixNano: BigInt(r.end_ns),
    customerOwn: r.customer_own,
    chainCustomer: r.chain_customer,
    resourceCustomer: r.resource_customer,
    pending: r.attribution_pending,
    costPicocents: picocentsOf(r.cost),
    costSource: r.cost_source as CostSource | null,
    revenuePicocents: picocentsOf(r.revenue),
    attributes: JSON.parse(r.attributes || '{}') as Record<string, JsonValue>,
    priceVersion: r.price_version,
  }));
}

export async function listClickHouseTraces(
  client: ClickHouseClient,
  p: Placement,
  q: TraceListQuery,
): Promise<{ items: TraceSummary[]; total: number }> {
  const where = ["source = 'span'"];
  const params: Record<string, unknown> = { limit: q.limit, offset: q.offset };
  if (q.customerId !== undefined) {
    where.push('customer_id = {customer:String}');
    params.customer = q.customerId;
  }
  // Settled spans by their day, pending ones by their start (the DuckDB store's summaries and live spans).
  if (q.fromMicros !== undefined) {
    where.push(`if(attribution_pending, ts >= fromUnixTimestamp64Micro({from:Int64}, 'UTC'),
      toDate(ts) >= toDate(fromUnixTimestamp64Micro({from:Int64}, 'UTC')))`);
    params.from = q.fromMicros.toString();
  }
  if (q.toMicros !== undefined) {
    where.push(`if(attribution_pending, ts < fromUnixTimestamp64Micro({to:Int64}, 'UTC'),
      toDate(ts) < toDate(fromUnixTimestamp64Micro({to:Int64}, 'UTC')))`);
    params.to = q.toMicros.toString();
  }
  const result = await client.query({
    query: `SELECT trace_id, toString(cost) AS cost_text, span_count, toString(start_ts) AS start_text, root_name,
        unpriced, count() OVER () AS total
      FROM (
        SELECT trace_id, sum(cost_amount) AS cost, count() AS span_count, min(start_time_unix_nano) AS start_ts,
          argMin(name, (start_time_unix_nano, name)) AS root_name, countIf(cost_source = 'unpriced') AS unpriced
        FROM ${identifier('database', p.database)}.records FINAL WHERE ${where.join(' AND ')} GROUP BY trace_id)
      ORDER BY ${TRACE_SORTS[q.sort]} LIMIT {limit:UInt32} OFFSET {offset:UInt32}`,
    query_params: params,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  const rows = (await result.json()) as Array<{
    trace_id: string;
    cost_text: string | null;
    span_count: number;
    start_text: string;
    root_name: string;
    unpriced: number;
    total: number;
  }>;
  return {
    total: rows[0] === undefined ? 0 : Number(rows[0].total),
    items: rows.map((r) => ({
      traceId: r.trace_id,
      costPicocents: picocentsOf(r.cost_text) ?? 0n,
      spanCount: Number(r.span_count),
      startTimeUnixNano: BigInt(r.start_text),
      rootName: r.root_name,
      unpricedSpans: Number(r.unpriced),
    })),
  };
}
