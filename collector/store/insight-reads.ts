/**
 * What insights need of a UTC window (CONTRACT.md §11), read from the rollup (money, activity) and the per-trace
 * summaries (trace costs and root names) — never from raw spans except the unpriced ones — so it keeps answering
 * after retention and at 10M records.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { InsightInputs } from '../insights/detect.ts';
import { decimal } from './metric-reads.ts';
import { unpricedModels } from './price-reads.ts';
import { UNATTRIBUTED_KEY } from './rollup.ts';

/** Half-open ranges [from, to) of day numbers: the window's days that are not in `indexed`. */
export function liveRanges(firstDay: number, endDay: number, indexed: ReadonlySet<number>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let d = firstDay; d < endDay; d++) {
    if (indexed.has(d)) continue;
    const last = out[out.length - 1];
    if (last && last[1] === d) last[1] = d + 1;
    else out.push([d, d + 1]);
  }
  return out;
}

const DAY_MICROS = 86_400_000_000n;
const dateOf = (day: number) => `(DATE '1970-01-01' + ${day})`;

/**
 * The rollup rows of [from, to) (whole UTC days) as (customer_key, revenue, costs, records): indexed months whole
 * from `rollup_months`, the rest from `rollup_15m` by slot ranges (zone maps skip the rest).
 */
function rollupRows(fromDay: number, toDay: number, months: readonly number[]): string {
  const whole = months.filter((m) => m >= fromDay && monthEnd(m) <= toDay).sort((a, b) => a - b);
  const ranges: Array<[number, number]> = [];
  let at = fromDay;
  for (const m of whole) {
    if (m > at) ranges.push([at, m]);
    at = monthEnd(m);
  }
  if (at < toDay) ranges.push([at, toDay]);
  const parts = ranges.map(
    ([a, b]) => `SELECT customer_key, revenue, costs, records FROM rollup_15m
       WHERE slot >= ${dateOf(a)} AND slot < ${dateOf(b)}`,
  );
  if (whole.length > 0) {
    parts.push(`SELECT customer_key, revenue, costs, records FROM rollup_months
      WHERE month IN (${whole.map(dateOf).join(', ')})`);
  }
  return parts.length > 0
    ? parts.join(' UNION ALL ')
    : 'SELECT customer_key, revenue, costs, records FROM rollup_15m LIMIT 0';
}

function monthEnd(monthStartDay: number): number {
  const d = new Date(monthStartDay * 86_400_000);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / 86_400_000;
}

/**
 * Everything insights need of [fromMicros, toMicros) (whole UTC days), in one read transaction (one snapshot of
 * the indexes and the live tables).
 */
export async function insightInputs(
  conn: DuckDBConnection,
  fromMicros: bigint,
  toMicros: bigint,
  anomalyMultiple: number,
  maxTraces: number,
): Promise<InsightInputs> {
  await conn.run('BEGIN TRANSACTION');
  try {
    return await readInputs(conn, fromMicros, toMicros, anomalyMultiple, maxTraces);
  } finally {
    await conn.run('COMMIT');
  }
}

async function readInputs(
  conn: DuckDBConnection,
  fromMicros: bigint,
  toMicros: bigint,
  anomalyMultiple: number,
  maxTraces: number,
): Promise<InsightInputs> {
  const fromDay = Number(fromMicros / DAY_MICROS);
  const toDay = Number(toMicros / DAY_MICROS);
  const previousFromDay = fromDay - (toDay - fromDay);
  const periods = (
    await conn.runAndReadAll(
      `SELECT kind, (period - DATE '1970-01-01')::INTEGER FROM indexed_periods
       WHERE period >= ${dateOf(previousFromDay - 31)} AND period < ${dateOf(toDay)}`,
    )
  ).getRows();
  const months = periods.filter((p) => p[0] === 'month').map((p) => Number(p[1]));
  const days = new Set(periods.filter((p) => p[0] === 'day').map((p) => Number(p[1])));
  const active = `count(DISTINCT customer_key) FILTER (WHERE records > 0 AND customer_key <> ${UNATTRIBUTED_KEY})`;
  const totals = (
    await conn.runAndReadAll(
      `SELECT coalesce(sum(revenue), 0)::VARCHAR, coalesce(sum(costs), 0)::VARCHAR, ${active}
       FROM (${rollupRows(fromDay, toDay, months)})`,
    )
  ).getRows()[0] as unknown[];
  const previous = (
    await conn.runAndReadAll(
      `SELECT coalesce(sum(costs), 0)::VARCHAR, ${active} FROM (${rollupRows(previousFromDay, fromDay, months)})`,
    )
  ).getRows()[0] as unknown[];
  const customers = (
    await conn.runAndReadAll(
      `SELECT c.external_id, sum(r.revenue)::VARCHAR, sum(r.costs)::VARCHAR
       FROM (${rollupRows(fromDay, toDay, months)}) r JOIN customers c USING (customer_key)
       GROUP BY c.external_id ORDER BY c.external_id`,
    )
  ).getRows();
  const live = liveRanges(fromDay, toDay, days);
  const liveDays =
    live.length === 0 ? 'false' : live.map(([a, b]) => `(day >= ${dateOf(a)} AND day < ${dateOf(b)})`).join(' OR ');
  // Per trace: its cost in the window and its root name; the mean per root name; exact: a trace is anomalous when
  // cost × n ≥ multiple × total of its root name. Whole traces of indexed days are one row each; any other trace
  // (spread over days, root unknown when indexed, or with parts on days read live) is summed from its parts.
  const traces = (
    await conn.runAndReadAll(
      `WITH idx AS (
         SELECT trace_id, root_name, cost, span_count, whole FROM trace_index
         WHERE day >= ${dateOf(fromDay)} AND day < ${dateOf(toDay)}),
       live AS (
         SELECT trace_id, sum(cost) AS cost, sum(span_count) AS spans FROM trace_days
         WHERE day >= ${dateOf(fromDay)} AND day < ${dateOf(toDay)} AND (${liveDays}) GROUP BY trace_id),
       nw AS (SELECT trace_id FROM idx WHERE NOT whole OR root_name IS NULL UNION SELECT trace_id FROM live),
       g AS (
         SELECT trace_id, sum(cost) AS cost FROM (
           SELECT trace_id, cost, span_count AS spans FROM idx WHERE trace_id IN (SELECT trace_id FROM nw)
           UNION ALL SELECT trace_id, cost, spans FROM live)
         GROUP BY trace_id HAVING sum(spans) > 0 AND sum(cost) IS NOT NULL),
       r AS (
         SELECT trace_id, arg_min(root_name, (root_start_ns, root_name)) AS root_name FROM trace_roots
         WHERE trace_id IN (SELECT trace_id FROM g) GROUP BY trace_id),
       j AS (
         SELECT trace_id, root_name, cost FROM idx
         WHERE whole AND root_name IS NOT NULL AND span_count > 0 AND cost IS NOT NULL
           AND trace_id NOT IN (SELECT trace_id FROM nw)
         UNION ALL
         SELECT g.trace_id, coalesce(r.root_name, '(root not received)'), g.cost FROM g LEFT JOIN r USING (trace_id)),
       m AS (SELECT root_name, sum(cost) AS total, count(*) AS n FROM j GROUP BY root_name)
       SELECT j.trace_id, j.root_name, j.cost::VARCHAR, m.total::VARCHAR, m.n
       FROM j JOIN m USING (root_name)
       WHERE m.total > 0 AND j.cost * m.n >= ?::INTEGER * m.total
       ORDER BY j.cost * m.n / m.total DESC, j.trace_id LIMIT ?`,
      [anomalyMultiple, maxTraces] as never,
    )
  ).getRows();
  return {
    revenue: decimal(totals[0]),
    costs: decimal(totals[1]),
    activeCustomers: Number(totals[2]),
    previous: { costs: decimal(previous[0]), activeCustomers: Number(previous[1]) },
    customers: customers.map((c) => ({ customerId: String(c[0]), revenue: decimal(c[1]), costs: decimal(c[2]) })),
    traces: traces.map((t) => ({
      traceId: String(t[0]),
      rootName: String(t[1]),
      cost: decimal(t[2]),
      meanCost: decimal(t[3]) / BigInt(Number(t[4])),
      tracesWithName: Number(t[4]),
    })),
    unpriced: await unpricedModels(conn, fromMicros, toMicros, 20),
  };
}
