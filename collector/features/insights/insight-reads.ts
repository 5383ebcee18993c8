/**
 * What insights need of a UTC window (docs/contract.md §11), read from the rollup (money, activity) and the per-trace
 * summaries (trace costs and root names) — never from raw spans except the unpriced ones — so it keeps answering
 * after retention and at 10M records.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { DAY_MICROS, dayDate, dayNumber } from '../../core/time.ts';
import { picocentsOf } from '../../db/money-values.ts';
import { big, col, num, one, read, rows } from '../../db/sql.ts';
import { UNATTRIBUTED_KEY } from '../../derived/rollup.ts';
import { unpricedModels } from '../../reads/price-reads.ts';
import { anomalousTraces } from './anomaly-reads.ts';
import type { InsightInputs } from './detect.ts';
import { monthEndDay } from './insight-index.ts';

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

/**
 * The rollup rows of [from, to) (whole UTC days) as (customer_key, revenue, costs, records): indexed months whole
 * from `rollup_months`, the rest from `rollup_15m` by slot ranges (zone maps skip the rest).
 */
function rollupRows(fromDay: number, toDay: number, months: readonly number[]): string {
  const whole = months.filter((m) => m >= fromDay && monthEndDay(m) <= toDay).sort((a, b) => a - b);
  const ranges: Array<[number, number]> = [];
  let at = fromDay;
  for (const m of whole) {
    if (m > at) ranges.push([at, m]);
    at = monthEndDay(m);
  }
  if (at < toDay) ranges.push([at, toDay]);
  const parts = ranges.map(
    ([a, b]) => `SELECT customer_key, revenue, costs, records FROM rollup_15m
       WHERE slot >= ${dayDate(a)} AND slot < ${dayDate(b)}`,
  );
  if (whole.length > 0) {
    parts.push(`SELECT customer_key, revenue, costs, records FROM rollup_months
      WHERE month IN (${whole.map(dayDate).join(', ')})`);
  }
  return parts.length > 0
    ? parts.join(' UNION ALL ')
    : 'SELECT customer_key, revenue, costs, records FROM rollup_15m LIMIT 0';
}

/**
 * Revenue and costs per customer of a set of rollup rows (one grouped scan, then the customers' ids, ordered), and the
 * totals (the unattributed included) and active customers (any record) from them, exactly. Sums are read as
 * decimals, not text: at 10k customers parsing their text was most of the time.
 */
async function customerSums(conn: DuckDBConnection, rowsSql: string) {
  const rows = (
    await read(
      conn,
      `WITH p AS (SELECT customer_key, sum(revenue) AS revenue, sum(costs) AS costs, sum(records) AS records
                  FROM (${rowsSql}) GROUP BY customer_key)
       SELECT p.customer_key, c.external_id, p.revenue, p.costs, p.records
       FROM p LEFT JOIN customers c USING (customer_key) ORDER BY c.external_id NULLS LAST`,
    )
  ).getRowObjects();
  const totals = { revenue: 0n, costs: 0n, active: 0 };
  const customers: Array<{ customerId: string; revenue: bigint; costs: bigint }> = [];
  for (const p of rows) {
    const row = { revenue: picocentsOf(col(p, 'revenue')), costs: picocentsOf(col(p, 'costs')) };
    totals.revenue += row.revenue;
    totals.costs += row.costs;
    const id = col(p, 'external_id');
    if (num(p, 'customer_key') === UNATTRIBUTED_KEY || id === null) continue;
    if (big(p, 'records') > 0n) totals.active++;
    customers.push({ customerId: String(id), ...row });
  }
  return { ...totals, customers };
}

/** The totals of `customerSums` alone (the previous window: no customer list needed). */
async function windowTotals(conn: DuckDBConnection, rowsSql: string) {
  const totals = await one(
    conn,
    `SELECT sum(revenue) AS revenue, sum(costs) AS costs,
       count(*) FILTER (WHERE records > 0 AND customer_key <> ${UNATTRIBUTED_KEY}) AS active
     FROM (SELECT customer_key, sum(revenue) AS revenue, sum(costs) AS costs, sum(records) AS records
           FROM (${rowsSql}) GROUP BY customer_key)`,
    [],
    (r) => ({ revenue: col(r, 'revenue'), costs: col(r, 'costs'), active: col(r, 'active') }),
  );
  return {
    revenue: picocentsOf(totals?.revenue ?? '0'),
    costs: picocentsOf(totals?.costs ?? '0'),
    active: Number(totals?.active),
  };
}

/**
 * Everything insights need of [fromMicros, toMicros) (whole UTC days). Several statements: run it in one read
 * transaction (`readSnapshot`) so they see one snapshot of the indexes and the live tables.
 */
export async function insightInputs(
  conn: DuckDBConnection,
  fromMicros: bigint,
  toMicros: bigint,
  anomalyMultiple: number,
  maxTraces: number,
): Promise<InsightInputs> {
  const fromDay = Number(fromMicros / DAY_MICROS);
  const toDay = Number(toMicros / DAY_MICROS);
  const previousFromDay = fromDay - (toDay - fromDay);
  const periods = await rows(
    conn,
    `SELECT kind, ${dayNumber('period')} AS day_number FROM indexed_periods
     WHERE period >= ${dayDate(previousFromDay - 31)} AND period < ${dayDate(toDay)}`,
    [],
    (r) => ({ kind: col(r, 'kind'), day: num(r, 'day_number') }),
  );
  const months = periods.filter((p) => p.kind === 'month').map((p) => p.day);
  const days = new Set(periods.filter((p) => p.kind === 'day').map((p) => p.day));
  const current = await customerSums(conn, rollupRows(fromDay, toDay, months));
  const previous = await windowTotals(conn, rollupRows(previousFromDay, fromDay, months));
  const traces = await anomalousTraces(
    conn,
    fromDay,
    toDay,
    liveRanges(fromDay, toDay, days),
    anomalyMultiple,
    maxTraces,
  );
  return {
    revenue: current.revenue,
    costs: current.costs,
    activeCustomers: current.active,
    previous: { costs: previous.costs, activeCustomers: previous.active },
    customers: current.customers,
    traces,
    unpriced: await unpricedModels(conn, fromMicros, toMicros, 20),
  };
}
