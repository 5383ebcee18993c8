/**
 * The metrics served by `GET /v1/metrics` (docs/contract.md §4), Polar-compatible slugs and types. Money is
 * cents; `percentage` is a fraction (0–1). Meta-metrics name what they are computed from, so a `metrics=`
 * subset pulls its dependencies in (as Polar's `_expand_metrics_with_dependencies` does).
 */
export type MetricType = 'currency' | 'currency_sub_cent' | 'scalar' | 'percentage';

export interface MetricDefinition {
  readonly slug: MetricSlug;
  readonly display_name: string;
  readonly type: MetricType;
}

export const METRIC_SLUGS = [
  'revenue',
  'cumulative_revenue',
  'costs',
  'cumulative_costs',
  'cashflow',
  'gross_margin',
  'gross_margin_percentage',
  'active_user_by_event',
  'cost_per_user',
] as const;
export type MetricSlug = (typeof METRIC_SLUGS)[number];

export const METRICS: Record<MetricSlug, MetricDefinition> = {
  revenue: { slug: 'revenue', display_name: 'Revenue', type: 'currency' },
  cumulative_revenue: { slug: 'cumulative_revenue', display_name: 'Cumulative Revenue', type: 'currency' },
  costs: { slug: 'costs', display_name: 'Costs', type: 'currency_sub_cent' },
  cumulative_costs: { slug: 'cumulative_costs', display_name: 'Cumulative Costs', type: 'currency_sub_cent' },
  cashflow: { slug: 'cashflow', display_name: 'Cashflow', type: 'currency' },
  gross_margin: { slug: 'gross_margin', display_name: 'Gross Margin', type: 'currency' },
  gross_margin_percentage: { slug: 'gross_margin_percentage', display_name: 'Gross Margin %', type: 'percentage' },
  active_user_by_event: { slug: 'active_user_by_event', display_name: 'Active Users', type: 'scalar' },
  cost_per_user: { slug: 'cost_per_user', display_name: 'Cost Per User', type: 'currency_sub_cent' },
};

const DEPENDS_ON: Partial<Record<MetricSlug, readonly MetricSlug[]>> = {
  cumulative_revenue: ['revenue'],
  cumulative_costs: ['costs'],
  cashflow: ['revenue', 'costs'],
  gross_margin: ['cumulative_revenue', 'cumulative_costs'],
  gross_margin_percentage: ['gross_margin'],
  cost_per_user: ['costs', 'active_user_by_event'],
};

export function isMetricSlug(s: string): s is MetricSlug {
  return (METRIC_SLUGS as readonly string[]).includes(s);
}

/** The requested slugs plus everything they depend on, in canonical order. */
export function expandWithDependencies(requested: readonly MetricSlug[]): MetricSlug[] {
  const wanted = new Set<MetricSlug>();
  const add = (s: MetricSlug) => {
    if (wanted.has(s)) return;
    wanted.add(s);
    for (const d of DEPENDS_ON[s] ?? []) add(d);
  };
  for (const s of requested) add(s);
  return METRIC_SLUGS.filter((s) => wanted.has(s));
}
