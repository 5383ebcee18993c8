/**
 * "Which calls drove cost" across many traces (`GET /v1/cost-drivers`): cost grouped by LLM model or
 * vendor, service, span/event name or the name of the trace's root, with each group's share, per-trace
 * cost percentiles (p50/p90/p99, actual trace values: quantile_disc keeps them exact) and the traces at or
 * above the p99. A "trace" is a span trace or an event tree (its root event); an allocated fixed cost is a line
 * of its own (vendor, span and root name = the bill's name), each customer-day one "trace".
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Picocents } from '../../src/money.ts';
import { decimal } from '../db/money-values.ts';
import { col, num, type SqlValue, textOrNull } from '../db/sql.ts';
import { SKETCHED, type SketchedGroup } from '../derived/driver-index.ts';
import { sketchedCostDrivers } from './cost-driver-sketch.ts';
import { type MetricScope, scopeFilter } from './metric-reads.ts';

export const GROUP_BY = {
  model: 'llm_model',
  vendor: 'llm_vendor',
  service: 'service_name',
  span_name: 'name',
  root_name: 'root_name',
} as const;
export type GroupBy = keyof typeof GROUP_BY;

export interface DriverGroup {
  readonly key: string | null;
  readonly cost: Picocents;
  readonly records: number;
  readonly traces: number;
  readonly p50: Picocents;
  readonly p90: Picocents;
  readonly p99: Picocents;
  readonly outliers: Array<{ traceKey: string; cost: Picocents }>;
}

const OUTLIERS_PER_GROUP = 5;

/** How the answer's quantiles were computed: exactly, or from the day index's sketch (error bound in the API). */
export type QuantileMethod = 'exact' | 'sketch';

export interface DriversAnswer {
  readonly groups: DriverGroup[];
  readonly total: Picocents;
  readonly quantiles: QuantileMethod;
}

// Allocated fixed costs (source 'allocation') count one record per customer and day, each its own "trace".
const TRACE_KEY = `CASE source WHEN 'event' THEN root_key WHEN 'allocation' THEN span_id ELSE trace_id END`;
// Only spans and events have a tree to open: allocations are never listed as outliers.
const TRACED = `source <> 'allocation' AS traced`;

/**
 * The records read live (events, allocations, spans still pending: settled spans count through their summaries),
 * one scan each with an equality the zone maps can use (most row groups hold only settled spans and are skipped).
 */
function liveRecordsSql(g: string, filter: { sql: string; params: SqlValue[] }): { sql: string; params: SqlValue[] } {
  const select = `SELECT ${TRACE_KEY} AS tk, cost_amount AS cost, 1 AS records, ${g} AS g, ${TRACED}, ts FROM records`;
  const live = ["source = 'event'", "source = 'allocation'", "source = 'span' AND attribution_pending = true"];
  return {
    sql: live
      .map((which) => `${select} WHERE ${which} AND cost_amount IS NOT NULL AND ${filter.sql}`)
      .join(' UNION ALL '),
    params: live.flatMap(() => filter.params),
  };
}

/**
 * Cost drivers of a window: from the day index (sketch) for all customers by model, vendor or service when the window
 * holds indexed days, unless `quantiles` asks for exact ones; exactly otherwise.
 */
export async function costDrivers(
  conn: DuckDBConnection,
  scope: MetricScope,
  groupBy: GroupBy,
  limit: number,
  quantiles: 'exact' | 'auto' = 'auto',
): Promise<DriversAnswer> {
  if (quantiles === 'auto' && scope.customerKeys === null && groupBy in SKETCHED) {
    const filter = scopeFilter(scope);
    const answer = await sketchedCostDrivers(conn, scope, groupBy as SketchedGroup, limit, (g) =>
      liveRecordsSql(g, filter),
    );
    if (answer !== null) return { groups: answer.groups, total: answer.total, quantiles: 'sketch' };
  }
  return { ...(await exactCostDrivers(conn, scope, groupBy, limit)), quantiles: 'exact' };
}

async function exactCostDrivers(
  conn: DuckDBConnection,
  scope: MetricScope,
  groupBy: GroupBy,
  limit: number,
): Promise<{ groups: DriverGroup[]; total: Picocents }> {
  const filter = scopeFilter(scope);
  const slots = scopeFilter(scope, 'slot');
  // Settled spans count through their per-trace summaries (trace-summaries.ts, kept at ingest and through
  // retention); events and spans still pending are read live. Span names are kept only on live spans, so
  // `span_name` reads raw records and covers the retention window.
  const column = GROUP_BY[groupBy];
  const recordsSql = (g: string) =>
    groupBy === 'span_name'
      ? `SELECT ${TRACE_KEY} AS tk, cost_amount AS cost, 1 AS records, ${g} AS g, ${TRACED}
         FROM records WHERE cost_amount IS NOT NULL AND ${filter.sql}`
      : `SELECT tk, cost, records, g, traced FROM (${liveRecordsSql(g, filter).sql})
         UNION ALL SELECT trace_id AS tk, cost, records, ${g} AS g, true AS traced FROM driver_slots WHERE ${slots.sql}`;
  // Root names need the roots, which may lie outside the window (or be removed): look them up for the traces.
  const base =
    groupBy === 'root_name'
      ? `SELECT b.tk, b.cost, b.records, coalesce(r.name, '(root not received)') AS g, b.traced
         FROM (${recordsSql('NULL')}) b
         LEFT JOIN (
           SELECT trace_id AS tk, arg_min(root_name, (root_start_ns, root_name)) AS name FROM trace_roots
           GROUP BY trace_id
           UNION ALL
           SELECT span_id AS tk, name FROM records
           WHERE (source = 'event' AND parent_span_id IS NULL) OR source = 'allocation'
         ) r USING (tk)`
      : recordsSql(column);
  const baseParams =
    groupBy === 'span_name' ? filter.params : [...liveRecordsSql(column, filter).params, ...slots.params];
  const reader = await conn.runAndReadAll(
    `WITH base AS (${base}),
     per_trace AS (
       -- Re-pricing appends differences; a trace whose cost records in a group all lost their cost is not in it.
       SELECT g, tk, sum(cost) AS c, sum(records) AS n, bool_and(traced) AS traced
       FROM base GROUP BY g, tk HAVING sum(records) > 0),
     stats AS (
       SELECT g, sum(c) AS cost, sum(n) AS records, count(*) AS traces,
         quantile_disc(c, 0.5) AS p50, quantile_disc(c, 0.9) AS p90, quantile_disc(c, 0.99) AS p99
       FROM per_trace GROUP BY g),
     top AS (SELECT * FROM stats ORDER BY cost DESC, g NULLS LAST LIMIT ?),
     outliers AS (
       SELECT p.g, list({'tk': p.tk, 'c': p.c::VARCHAR} ORDER BY p.c DESC, p.tk)[1:${OUTLIERS_PER_GROUP}] AS items
       FROM per_trace p JOIN top USING (g) WHERE p.c >= top.p99 AND p.traced GROUP BY p.g)
     SELECT top.g, top.cost::VARCHAR AS cost, top.records, top.traces, top.p50::VARCHAR AS p50,
       top.p90::VARCHAR AS p90, top.p99::VARCHAR AS p99, outliers.items, (SELECT sum(c) FROM per_trace)::VARCHAR AS total
     FROM top LEFT JOIN outliers ON top.g IS NOT DISTINCT FROM outliers.g
     ORDER BY top.cost DESC, top.g NULLS LAST`,
    [...baseParams, limit],
  );
  const rows = reader.getRowObjects();
  const first = rows[0];
  return {
    total: first === undefined ? 0n : decimal(col(first, 'total')),
    groups: rows.map((r) => ({
      key: textOrNull(r, 'g'),
      cost: decimal(col(r, 'cost')),
      records: num(r, 'records'),
      traces: num(r, 'traces'),
      p50: decimal(col(r, 'p50')),
      p90: decimal(col(r, 'p90')),
      p99: decimal(col(r, 'p99')),
      outliers: listItems(col(r, 'items')).map((o) => ({ traceKey: String(o.tk), cost: decimal(o.c) })),
    })),
  };
}

function listItems(v: unknown): Array<{ tk: unknown; c: unknown }> {
  if (v === null || v === undefined) return [];
  const items = (v as { items?: unknown[] }).items ?? [];
  return items.map(
    (x) => (x as { entries?: Record<string, unknown> }).entries ?? (x as Record<string, unknown>),
  ) as Array<{
    tk: unknown;
    c: unknown;
  }>;
}
