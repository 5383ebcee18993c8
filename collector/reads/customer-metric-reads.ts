/**
 * Per-customer profitability for `GET /v1/metrics/customers` (from `rollup_15m`): revenue and costs in the window, profit,
 * margin, lifetime value (cumulative profit from the customer's first activity to the end of the window)
 * and the customer's share of all costs in the window (unattributed cost included in the whole).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Picocents } from '../../src/money.ts';
import { decimal } from '../db/money-values.ts';
import { col, num, one, textOrNull } from '../db/sql.ts';
import { UNATTRIBUTED_KEY } from '../derived/rollup.ts';
import { CUSTOMER_SORTS, type CustomerMetricsQuery, type CustomerMetricsRow } from '../metrics/customer-sorts.ts';

export { CUSTOMER_SORTS, type CustomerMetricsRow, type CustomerSort } from '../metrics/customer-sorts.ts';

export async function customerMetrics(
  conn: DuckDBConnection,
  q: CustomerMetricsQuery,
): Promise<{ rows: CustomerMetricsRow[]; total: number; allCosts: Picocents; unattributedCosts: Picocents }> {
  const search = q.query ? `AND contains(lower(c.external_id || ' ' || coalesce(c.name, '')), lower(?))` : '';
  const reader = await conn.runAndReadAll(
    `WITH w AS (
       SELECT customer_key, sum(revenue) AS revenue, sum(costs) AS costs
       FROM rollup_15m WHERE slot >= make_timestamp(?::BIGINT) AND slot < make_timestamp(?::BIGINT)
       GROUP BY customer_key),
     a AS (
       SELECT customer_key, sum(cost_amount) AS allocated
       FROM records WHERE source = 'allocation' AND ts >= make_timestamp(?::BIGINT) AND ts < make_timestamp(?::BIGINT)
       GROUP BY customer_key),
     l AS (
       SELECT customer_key, sum(revenue) - sum(costs) AS ltv
       FROM rollup_15m WHERE slot < make_timestamp(?::BIGINT) GROUP BY customer_key),
     m AS (
       SELECT c.external_id, c.name, c.created_at,
         coalesce(w.revenue, 0) AS revenue, coalesce(w.costs, 0) AS costs, coalesce(a.allocated, 0) AS allocated,
         coalesce(w.revenue, 0) - coalesce(w.costs, 0) AS profit, coalesce(l.ltv, 0) AS ltv,
         CASE WHEN coalesce(w.revenue, 0) > 0 THEN (coalesce(w.revenue, 0) - coalesce(w.costs, 0))::DOUBLE / w.revenue::DOUBLE END AS margin
       FROM customers c LEFT JOIN w USING (customer_key) LEFT JOIN a USING (customer_key)
         LEFT JOIN l USING (customer_key)
       WHERE c.created_at < make_timestamp(?::BIGINT) ${search})
     SELECT external_id, name, strftime(created_at, '%Y-%m-%dT%H:%M:%S.%fZ') AS created_iso,
       revenue::VARCHAR AS revenue_text, costs::VARCHAR AS costs_text, ltv::VARCHAR AS ltv_text, count(*) OVER () AS total,
       allocated::VARCHAR AS allocated_text
     FROM m ORDER BY ${CUSTOMER_SORTS[q.sort]} LIMIT ? OFFSET ?`,
    [
      q.fromMicros,
      q.toMicros,
      q.fromMicros,
      q.toMicros,
      q.toMicros,
      q.toMicros,
      ...(q.query ? [q.query] : []),
      q.limit,
      q.offset,
    ],
  );
  const all = await one(
    conn,
    `SELECT coalesce(sum(costs), 0)::VARCHAR AS all_costs,
       coalesce(sum(costs) FILTER (WHERE customer_key = ${UNATTRIBUTED_KEY}), 0)::VARCHAR AS unattributed_costs
     FROM rollup_15m WHERE slot >= make_timestamp(?::BIGINT) AND slot < make_timestamp(?::BIGINT)`,
    [q.fromMicros, q.toMicros],
    (r) => ({ all: col(r, 'all_costs'), unattributed: col(r, 'unattributed_costs') }),
  );
  const rows = reader.getRowObjects();
  const first = rows[0];
  return {
    total: first === undefined ? 0 : num(first, 'total'),
    allCosts: decimal(all?.all),
    unattributedCosts: decimal(all?.unattributed),
    rows: rows.map((r) => ({
      externalId: String(col(r, 'external_id')),
      name: textOrNull(r, 'name'),
      createdAt: String(col(r, 'created_iso')),
      revenue: decimal(col(r, 'revenue_text')),
      costs: decimal(col(r, 'costs_text')),
      ltv: decimal(col(r, 'ltv_text')),
      allocatedCosts: decimal(col(r, 'allocated_text')),
    })),
  };
}
