/**
 * Turns per-period sums into the metrics response (pure, exact): money stays in picocents until the
 * edge; ratios are decimal divisions rounded half-even at 12 places. Definitions follow Polar where it is
 * consistent and fix it where it is not (docs/contract.md §4): one `cost_per_user` denominator (customers
 * active in the period, or in the whole range for totals); cumulative series start from everything
 * before `start_date`.
 */
import { type Picocents, picocentsToNumber } from '../../src/money.ts';
import type { MetricSlug } from './definitions.ts';

export interface PeriodSums {
  readonly revenue: Picocents;
  readonly costs: Picocents;
  readonly activeUsers: number;
}

export interface MetricsInput {
  readonly periods: readonly PeriodSums[];
  readonly before: { readonly revenue: Picocents; readonly costs: Picocents };
  readonly distinctActiveUsers: number;
}

export type MetricValues = Record<MetricSlug, number>;

const SCALE = 10n ** 12n;

/** a / b rounded half-even to 12 decimal places, as a number. */
export function ratio(a: bigint, b: bigint): number {
  if (b === 0n) return 0;
  return picocentsToNumber(divideHalfEven(a * SCALE, b));
}

export function divideHalfEven(a: bigint, b: bigint): bigint {
  const negative = a < 0n !== b < 0n;
  const absA = a < 0n ? -a : a;
  const absB = b < 0n ? -b : b;
  let q = absA / absB;
  const r2 = (absA % absB) * 2n;
  if (r2 > absB || (r2 === absB && q % 2n === 1n)) q += 1n;
  return negative ? -q : q;
}

export function computeMetrics(input: MetricsInput): { periods: MetricValues[]; totals: MetricValues } {
  let cumRevenue = input.before.revenue;
  let cumCosts = input.before.costs;
  let sumRevenue = 0n;
  let sumCosts = 0n;
  const periods = input.periods.map((p) => {
    cumRevenue += p.revenue;
    cumCosts += p.costs;
    sumRevenue += p.revenue;
    sumCosts += p.costs;
    return values(p.revenue, p.costs, cumRevenue, cumCosts, p.activeUsers);
  });
  const totals = values(sumRevenue, sumCosts, cumRevenue, cumCosts, input.distinctActiveUsers);
  return { periods, totals };
}

function values(revenue: bigint, costs: bigint, cumRevenue: bigint, cumCosts: bigint, active: number): MetricValues {
  const grossMargin = cumRevenue - cumCosts;
  return {
    revenue: picocentsToNumber(revenue),
    cumulative_revenue: picocentsToNumber(cumRevenue),
    costs: picocentsToNumber(costs),
    cumulative_costs: picocentsToNumber(cumCosts),
    cashflow: picocentsToNumber(revenue - costs),
    gross_margin: picocentsToNumber(grossMargin),
    gross_margin_percentage: cumRevenue > 0n ? ratio(grossMargin, cumRevenue) : 0,
    active_user_by_event: active,
    cost_per_user: active > 0 ? picocentsToNumber(divideHalfEven(costs, BigInt(active))) : 0,
  };
}
