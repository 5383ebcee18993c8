/**
 * Read-side SQL for cost traces. All user input is bound as parameters; the only SQL that varies is
 * chosen from fixed fragments (sort orders).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { type Picocents, parseDecimalString } from '../../src/money.ts';
import type { CostSource, JsonValue } from '../../src/records.ts';
import { type StoredSpan, TRACE_SORTS, type TraceListQuery, type TraceSummary } from '../core/trace-shapes.ts';
import { col, mapRows, num, textOrNull } from '../db/sql.ts';

export type { StoredSpan, TraceListQuery, TraceSort, TraceSummary } from '../core/trace-shapes.ts';
export { TRACE_SORTS } from '../core/trace-shapes.ts';

export async function readTraceSpans(conn: DuckDBConnection, traceId: string): Promise<StoredSpan[]> {
  const reader = await conn.runAndReadAll(
    `SELECT trace_id, span_id, parent_span_id, name, kind, service_name, start_time_unix_nano,
       end_time_unix_nano, customer_own, chain_customer, resource_customer, attribution_pending,
       cost_amount::VARCHAR AS cost, cost_source, revenue_amount::VARCHAR AS revenue, attributes::VARCHAR AS attributes,
       price_version
     FROM records WHERE trace_id = ? AND source = 'span'
     ORDER BY start_time_unix_nano, span_id`,
    [traceId],
  );
  return mapRows(reader, (r) => ({
    traceId: String(col(r, 'trace_id')),
    spanId: String(col(r, 'span_id')),
    parentSpanId: textOrNull(r, 'parent_span_id'),
    name: String(col(r, 'name')),
    kind: num(r, 'kind'),
    serviceName: textOrNull(r, 'service_name'),
    startTimeUnixNano: col(r, 'start_time_unix_nano') as bigint,
    endTimeUnixNano: col(r, 'end_time_unix_nano') as bigint,
    customerOwn: textOrNull(r, 'customer_own'),
    chainCustomer: textOrNull(r, 'chain_customer'),
    resourceCustomer: textOrNull(r, 'resource_customer'),
    pending: col(r, 'attribution_pending') === true,
    costPicocents: decimalOrNull(col(r, 'cost')),
    costSource: textOrNull(r, 'cost_source') as CostSource | null,
    revenuePicocents: decimalOrNull(col(r, 'revenue')),
    attributes: JSON.parse(String(col(r, 'attributes') ?? '{}')) as Record<string, JsonValue>,
    priceVersion: col(r, 'price_version') === null ? null : num(r, 'price_version'),
  }));
}

export async function listTraces(
  conn: DuckDBConnection,
  q: TraceListQuery,
): Promise<{ items: TraceSummary[]; total: number }> {
  // Per-day trace summaries (trace-summaries.ts: every settled span, removed by retention or not), plus the few
  // spans still pending, read live: the same sums, counts, earliest start and its name as the raw spans.
  const live: string[] = [`source = 'span' AND attribution_pending`];
  const removed: string[] = ['true'];
  const liveParams: Array<string | bigint> = [];
  const removedParams: Array<string | bigint> = [];
  if (q.customerId !== undefined) {
    live.push('customer_id = ?');
    removed.push('customer_id = ?');
    liveParams.push(q.customerId);
    removedParams.push(q.customerId);
  }
  if (q.fromMicros !== undefined) {
    live.push('ts >= make_timestamp(?::BIGINT)');
    removed.push('day >= CAST(make_timestamp(?::BIGINT) AS DATE)');
    liveParams.push(q.fromMicros);
    removedParams.push(q.fromMicros);
  }
  if (q.toMicros !== undefined) {
    live.push('ts < make_timestamp(?::BIGINT)');
    removed.push('day < CAST(make_timestamp(?::BIGINT) AS DATE)');
    liveParams.push(q.toMicros);
    removedParams.push(q.toMicros);
  }
  const reader = await conn.runAndReadAll(
    `WITH parts AS (
       SELECT trace_id, sum(cost_amount) AS cost, count(*) AS n, min(start_time_unix_nano) AS start_ns,
         arg_min(name, (start_time_unix_nano, name)) AS first_name, count(*) FILTER (WHERE cost_source = 'unpriced') AS u
       FROM records WHERE ${live.join(' AND ')} GROUP BY trace_id
       UNION ALL
       SELECT trace_id, sum(cost), sum(span_count), min(start_ns), arg_min(first_name, (start_ns, first_name)),
         sum(unpriced_spans)
       FROM trace_days WHERE ${removed.join(' AND ')} GROUP BY trace_id),
     t AS (
       SELECT trace_id, sum(cost) AS cost, sum(n) AS span_count, min(start_ns) AS start_ts,
         arg_min(first_name, (start_ns, first_name)) AS root_name, sum(u) AS unpriced
       FROM parts GROUP BY trace_id)
     SELECT trace_id, coalesce(cost, 0)::VARCHAR AS cost_text, span_count, start_ts, root_name, count(*) OVER () AS total,
       unpriced
     FROM t ORDER BY ${TRACE_SORTS[q.sort]} LIMIT ? OFFSET ?`,
    [...liveParams, ...removedParams, q.limit, q.offset],
  );
  const rows = reader.getRowObjects();
  const first = rows[0];
  return {
    total: first === undefined ? 0 : num(first, 'total'),
    items: rows.map((r) => ({
      traceId: String(col(r, 'trace_id')),
      costPicocents: decimalOrNull(col(r, 'cost_text')) ?? 0n,
      spanCount: num(r, 'span_count'),
      startTimeUnixNano: col(r, 'start_ts') as bigint,
      rootName: String(col(r, 'root_name')),
      unpricedSpans: Number(col(r, 'unpriced') ?? 0),
    })),
  };
}

function decimalOrNull(v: unknown): Picocents | null {
  if (v === null || v === undefined) return null;
  const parsed = parseDecimalString(String(v));
  if (!parsed.ok) throw new Error(`unexpected decimal from store: ${String(v)}`);
  return parsed.picocents;
}
