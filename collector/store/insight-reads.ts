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

export async function insightInputs(
  conn: DuckDBConnection,
  fromMicros: bigint,
  toMicros: bigint,
  anomalyMultiple: number,
  maxTraces: number,
): Promise<InsightInputs> {
  const window = [fromMicros, toMicros] as never;
  const slots = 'slot >= make_timestamp(?::BIGINT) AND slot < make_timestamp(?::BIGINT)';
  const totals = (
    await conn.runAndReadAll(
      `SELECT coalesce(sum(revenue), 0)::VARCHAR, coalesce(sum(costs), 0)::VARCHAR,
         count(DISTINCT customer_key) FILTER (WHERE records > 0 AND customer_key <> ${UNATTRIBUTED_KEY})
       FROM rollup_15m WHERE ${slots}`,
      window,
    )
  ).getRows()[0] as unknown[];
  const previousFrom = fromMicros - (toMicros - fromMicros);
  const previous = (
    await conn.runAndReadAll(
      `SELECT coalesce(sum(costs), 0)::VARCHAR,
         count(DISTINCT customer_key) FILTER (WHERE records > 0 AND customer_key <> ${UNATTRIBUTED_KEY})
       FROM rollup_15m WHERE ${slots}`,
      [previousFrom, fromMicros] as never,
    )
  ).getRows()[0] as unknown[];
  const customers = (
    await conn.runAndReadAll(
      `SELECT c.external_id, sum(r.revenue)::VARCHAR, sum(r.costs)::VARCHAR
       FROM rollup_15m r JOIN customers c USING (customer_key)
       WHERE r.${slots} GROUP BY c.external_id ORDER BY c.external_id`,
      window,
    )
  ).getRows();
  // Per trace (summed summary parts of the window's UTC days), its root name, and the mean per root name —
  // exact: a trace is anomalous when cost × n ≥ multiple × total of its root name.
  const traces = (
    await conn.runAndReadAll(
      `WITH t AS (
         SELECT trace_id, sum(cost) AS cost FROM trace_days
         WHERE day >= make_timestamp(?::BIGINT)::DATE AND day < make_timestamp(?::BIGINT)::DATE
         GROUP BY trace_id HAVING sum(span_count) > 0 AND sum(cost) IS NOT NULL),
       r AS (
         SELECT trace_id, arg_min(root_name, (root_start_ns, root_name)) AS root_name FROM trace_roots
         WHERE trace_id IN (SELECT trace_id FROM t) GROUP BY trace_id),
       j AS (SELECT t.trace_id, coalesce(r.root_name, '(root not received)') AS root_name, t.cost
             FROM t LEFT JOIN r USING (trace_id)),
       m AS (SELECT root_name, sum(cost) AS total, count(*) AS n FROM j GROUP BY root_name)
       SELECT j.trace_id, j.root_name, j.cost::VARCHAR, m.total::VARCHAR, m.n
       FROM j JOIN m USING (root_name)
       WHERE m.total > 0 AND j.cost * m.n >= ?::INTEGER * m.total
       ORDER BY j.cost * m.n / m.total DESC, j.trace_id LIMIT ?`,
      [fromMicros, toMicros, anomalyMultiple, maxTraces] as never,
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
