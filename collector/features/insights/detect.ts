/**
 * Insights (docs/contract.md §11), the pure part: what is wrong in a window, from numbers the store reads, each with a
 * human message and the data behind it, ordered critical first. Every threshold is in INSIGHT_THRESHOLDS (one
 * place). Money is exact picocents; ratios are computed from them.
 */
import { formatPicocents, picocentsToNumber } from '../../../src/money.ts';

export const INSIGHT_THRESHOLDS = {
  /** Gross margin of the window below these → warning / critical. */
  marginWarning: 0.7,
  marginCritical: 0.4,
  /** One customer's share of all costs at or above these → warning / critical. */
  concentrationWarning: 0.4,
  concentrationCritical: 0.6,
  /** Cost per active customer moving by at least this fraction vs the previous equal window → warning… */
  costPerUserChange: 0.05,
  /** …unless both values are under this many cents (noise; Polar ignores under $1). */
  costPerUserFloorCents: 100,
  /** A trace costing at least these multiples of the mean of traces with its root name → warning / critical. */
  anomalyWarning: 3,
  anomalyCritical: 6,
  /** Traces listed per insight type (the worst first). */
  maxAnomalousTraces: 20,
  /** Customers listed as losing money (the largest losses first). */
  maxLosingCustomers: 20,
} as const;

export type Severity = 'warning' | 'critical';

export interface Insight {
  readonly type:
    | 'low_gross_margin'
    | 'customer_losing_money'
    | 'cost_concentration'
    | 'cost_per_user_change'
    | 'anomalous_traces'
    | 'unpriced_usage';
  readonly severity: Severity;
  readonly message: string;
  readonly data: Record<string, unknown>;
}

export interface InsightInputs {
  readonly revenue: bigint;
  readonly costs: bigint;
  readonly customers: ReadonlyArray<{ readonly customerId: string; readonly revenue: bigint; readonly costs: bigint }>;
  readonly activeCustomers: number;
  readonly previous: { readonly costs: bigint; readonly activeCustomers: number };
  readonly traces: ReadonlyArray<{
    readonly traceId: string;
    readonly rootName: string;
    readonly cost: bigint;
    readonly meanCost: bigint;
    readonly tracesWithName: number;
  }>;
  readonly unpriced: ReadonlyArray<{
    readonly model: string | null;
    readonly vendor: string | null;
    readonly reason: string | null;
    readonly spans: number;
  }>;
}

const cents = (p: bigint) => picocentsToNumber(p);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const dollars = (p: bigint) => `$${(Number(p / 10n ** 10n) / 10_000).toFixed(2)}`;
/** a / b as a float, from exact integers (b ≠ 0). */
const ratio = (a: bigint, b: bigint) => Number((a * 1_000_000_000n) / b) / 1_000_000_000;

export function detectInsights(x: InsightInputs, t = INSIGHT_THRESHOLDS): Insight[] {
  const out: Insight[] = [];
  if (x.revenue > 0n) {
    const margin = ratio(x.revenue - x.costs, x.revenue);
    if (margin < t.marginWarning) {
      out.push({
        type: 'low_gross_margin',
        severity: margin < t.marginCritical ? 'critical' : 'warning',
        message: `Gross margin is ${pct(margin)} (revenue ${dollars(x.revenue)}, costs ${dollars(x.costs)}), below ${pct(t.marginWarning)}.`,
        data: {
          margin,
          revenue: cents(x.revenue),
          costs: cents(x.costs),
          threshold: margin < t.marginCritical ? t.marginCritical : t.marginWarning,
        },
      });
    }
  }
  const losing = x.customers
    .filter((c) => c.revenue - c.costs < 0n)
    .sort((a, b) => (a.revenue - a.costs < b.revenue - b.costs ? -1 : 1))
    .slice(0, t.maxLosingCustomers);
  for (const c of losing) {
    const profit = c.revenue - c.costs;
    out.push({
      type: 'customer_losing_money',
      severity: c.revenue <= 0n ? 'critical' : 'warning',
      message: `${c.customerId} cost ${dollars(c.costs)} and brought ${dollars(c.revenue)}: a loss of ${dollars(-profit)}.`,
      data: {
        customer_id: c.customerId,
        revenue: cents(c.revenue),
        costs: cents(c.costs),
        profit: cents(profit),
        profit_exact: formatPicocents(profit),
      },
    });
  }
  if (x.costs > 0n) {
    for (const c of x.customers) {
      const share = ratio(c.costs, x.costs);
      if (share >= t.concentrationWarning) {
        out.push({
          type: 'cost_concentration',
          severity: share >= t.concentrationCritical ? 'critical' : 'warning',
          message: `${c.customerId} accounts for ${pct(share)} of all costs (${dollars(c.costs)} of ${dollars(x.costs)}).`,
          data: { customer_id: c.customerId, share, costs: cents(c.costs), total_costs: cents(x.costs) },
        });
      }
    }
  }
  if (x.activeCustomers > 0 && x.previous.activeCustomers > 0) {
    const now = x.costs / BigInt(x.activeCustomers);
    const before = x.previous.costs / BigInt(x.previous.activeCustomers);
    const floor = BigInt(t.costPerUserFloorCents) * 10n ** 12n;
    if (before > 0n && (now >= floor || before >= floor)) {
      const change = ratio(now - before, before);
      if (Math.abs(change) >= t.costPerUserChange) {
        out.push({
          type: 'cost_per_user_change',
          severity: 'warning',
          message: `Cost per active customer ${change > 0 ? 'rose' : 'fell'} ${pct(Math.abs(change))}: ${dollars(now)} vs ${dollars(before)} in the previous window.`,
          data: { cost_per_user: cents(now), previous_cost_per_user: cents(before), change },
        });
      }
    }
  }
  const anomalies = x.traces
    .filter((tr) => tr.meanCost > 0n && tr.cost >= tr.meanCost * BigInt(t.anomalyWarning))
    .sort((a, b) => ratio(b.cost, b.meanCost) - ratio(a.cost, a.meanCost))
    .slice(0, t.maxAnomalousTraces);
  for (const tr of anomalies) {
    const times = ratio(tr.cost, tr.meanCost);
    out.push({
      type: 'anomalous_traces',
      severity: times >= t.anomalyCritical ? 'critical' : 'warning',
      message: `Trace ${tr.traceId} ("${tr.rootName}") cost ${dollars(tr.cost)}, ${times.toFixed(1)}× the mean of ${tr.tracesWithName} traces with that root.`,
      data: {
        trace_id: tr.traceId,
        root_name: tr.rootName,
        cost: cents(tr.cost),
        mean_cost: cents(tr.meanCost),
        times,
        traces_with_root_name: tr.tracesWithName,
      },
    });
  }
  for (const u of x.unpriced) {
    out.push({
      type: 'unpriced_usage',
      severity: 'warning',
      message: `${u.spans} LLM span(s) of ${u.model ?? 'an unnamed model'}${u.vendor ? ` (${u.vendor})` : ''} have no price${u.reason ? ` (${u.reason})` : ''}: their cost is unknown. Add the model to the price book, or have the producer record token usage.`,
      data: { model: u.model, vendor: u.vendor, reason: u.reason, spans: u.spans },
    });
  }
  const rank = (s: Severity) => (s === 'critical' ? 0 : 1);
  return out.sort((a, b) => rank(a.severity) - rank(b.severity));
}
