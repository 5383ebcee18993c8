/**
 * `GET /v1/metrics/customers` on the ClickHouse store, as the DuckDB store answers it (reads/customer-metric-reads.ts):
 * per customer created before the window's end, revenue and costs in the window, allocated costs, profit, margin and
 * lifetime value to the window's end; sorted with the same tie-break, paged, searched by id or name; plus all costs
 * in the window and the unattributed part of them.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Picocents } from '../../src/money.ts';
import { CUSTOMER_SORTS, type CustomerMetricsQuery, type CustomerMetricsRow } from '../metrics/customer-sorts.ts';
import { customerState } from './customers.ts';
import { identifier, type Placement } from './ddl.ts';
import { picocentsOf } from './values.ts';

const ZERO = 'toDecimal128(0, 12)';

export async function customerMetrics(
  client: ClickHouseClient,
  p: Placement,
  q: CustomerMetricsQuery,
): Promise<{ rows: CustomerMetricsRow[]; total: number; allCosts: Picocents; unattributedCosts: Picocents }> {
  const db = identifier('database', p.database);
  const from = `fromUnixTimestamp64Micro({from:Int64}, 'UTC')`;
  const to = `fromUnixTimestamp64Micro({to:Int64}, 'UTC')`;
  const search = q.query
    ? `AND positionCaseInsensitiveUTF8(concat(c.external_id, ' ', ifNull(c.name, '')), {q:String}) > 0`
    : '';
  const params = {
    from: q.fromMicros.toString(),
    to: q.toMicros.toString(),
    q: q.query ?? '',
    limit: q.limit,
    offset: q.offset,
  };
  const result = await client.query({
    query: `WITH
       w AS (SELECT customer_id, sum(revenue) AS w_revenue, sum(costs) AS w_costs FROM ${db}.rollup_15m
             WHERE slot >= ${from} AND slot < ${to} GROUP BY customer_id),
       a AS (SELECT ifNull(customer_id, '') AS customer_id, sum(ifNull(cost_amount, ${ZERO})) AS allocated
             FROM ${db}.records FINAL WHERE source = 'allocation' AND ts >= ${from} AND ts < ${to} GROUP BY customer_id),
       l AS (SELECT customer_id, sum(revenue) - sum(costs) AS l_ltv FROM ${db}.rollup_15m WHERE slot < ${to}
             GROUP BY customer_id),
       m AS (
         SELECT c.external_id AS external_id, c.name AS name, c.created_at AS created,
           ifNull(w.w_revenue, ${ZERO}) AS revenue, ifNull(w.w_costs, ${ZERO}) AS costs,
           ifNull(a.allocated, ${ZERO}) AS allocated_costs, revenue - costs AS profit, ifNull(l.l_ltv, ${ZERO}) AS ltv,
           if(revenue > 0, toFloat64(revenue - costs) / toFloat64(revenue), NULL) AS margin
         FROM ${customerState(p.database)} AS c
           -- (A LEFT JOIN's missing side reads as 0 here: the sums' defaults, as the DuckDB store's coalesce.)
           LEFT JOIN w ON w.customer_id = c.external_id
           LEFT JOIN a ON a.customer_id = c.external_id
           LEFT JOIN l ON l.customer_id = c.external_id
         WHERE c.created_at < ${to} ${search})
     SELECT external_id, name, formatDateTime(created, '%Y-%m-%dT%H:%i:%S.%fZ') AS created_iso,
       toString(revenue) AS revenue_text, toString(costs) AS costs_text, toString(ltv) AS ltv_text,
       toString(allocated_costs) AS allocated_text, count() OVER () AS total
     FROM m ORDER BY ${CUSTOMER_SORTS[q.sort]} LIMIT {limit:UInt32} OFFSET {offset:UInt32}`,
    query_params: params,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  const rows = (await result.json()) as Array<{
    external_id: string;
    name: string | null;
    created_iso: string;
    revenue_text: string;
    costs_text: string;
    ltv_text: string;
    allocated_text: string;
    total: number;
  }>;
  const totals = await client.query({
    query: `SELECT toString(sum(costs)) AS all_costs, toString(sumIf(costs, customer_id = '')) AS unattributed
      FROM ${db}.rollup_15m WHERE slot >= ${from} AND slot < ${to}`,
    query_params: params,
    format: 'JSONEachRow',
  });
  const [all] = (await totals.json()) as Array<{ all_costs: string; unattributed: string }>;
  const money = (t: string | undefined) => picocentsOf(t ?? '0') ?? 0n;
  return {
    total: rows[0] === undefined ? 0 : Number(rows[0].total),
    allCosts: money(all?.all_costs),
    unattributedCosts: money(all?.unattributed),
    rows: rows.map((r) => ({
      externalId: r.external_id,
      name: r.name,
      createdAt: r.created_iso,
      revenue: money(r.revenue_text),
      costs: money(r.costs_text),
      ltv: money(r.ltv_text),
      allocatedCosts: money(r.allocated_text),
    })),
  };
}
