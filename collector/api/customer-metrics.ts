/**
 * `GET /v1/metrics/customers` (docs/contract.md §4) and `GET /v1/cost-drivers` (§5): windowed per-customer
 * profitability and cost drivers. Windows are calendar days in `timezone` (default UTC), end inclusive.
 */
import type { FastifyInstance } from 'fastify';
import { formatPicocents, picocentsToNumber } from '../../src/money.ts';
import { MAX_OFFSET } from '../core/limits.ts';
import { meterById } from '../features/meters/routes.ts';
import { InputError } from '../http/errors.ts';
import { COST_DRIVERS_RESPONSE, CUSTOMER_METRICS_RESPONSE, errors, READ_ERRORS } from '../http/schemas.ts';
import { dayNumber, type LocalTime, localToUtcMs } from '../metrics/calendar.ts';
import { divideHalfEven, ratio } from '../metrics/compute.ts';
import { parseWindow } from '../metrics/params.ts';
import { SKETCH_RELATIVE_ERROR } from '../metrics/quantile-sketch.ts';
import { GROUP_BY, type GroupBy } from '../reads/cost-driver-reads.ts';
import { CUSTOMER_SORTS, type CustomerSort } from '../reads/customer-metric-reads.ts';
import type { Store } from '../store.ts';

interface WindowQuery {
  start_date: string;
  end_date: string;
  timezone?: string;
}

/** Querystring schema of a windowed endpoint: the window's dates and zone plus the endpoint's own parameters. */
function windowQuerystring(properties: Record<string, unknown>) {
  return {
    type: 'object',
    required: ['start_date', 'end_date'],
    properties: {
      start_date: { type: 'string' },
      end_date: { type: 'string' },
      timezone: { type: 'string' },
      ...properties,
    },
  } as const;
}

/** [local start 00:00, local day after end 00:00) as UTC µs. */
function windowMicros(q: WindowQuery): { fromMicros: bigint; toMicros: bigint } {
  const issues: Array<{ loc: Array<string | number>; msg: string; type: string }> = [];
  const w = parseWindow(q, issues);
  if (!w) throw new InputError(issues);
  const after = new Date((dayNumber(w.end.y, w.end.m, w.end.d) + 1) * 86_400_000);
  const dayAfter: LocalTime = { y: after.getUTCFullYear(), m: after.getUTCMonth() + 1, d: after.getUTCDate(), h: 0 };
  return {
    fromMicros: BigInt(localToUtcMs(w.start, w.timezone)) * 1000n,
    toMicros: BigInt(localToUtcMs(dayAfter, w.timezone)) * 1000n,
  };
}

const money = (p: bigint) => picocentsToNumber(p);

/** Units (12-decimal fixed point, as money) and cost per unit in cents, exact to 12 decimals (half-even). */
function perUnit(costs: bigint, units: bigint) {
  const each = units === 0n ? null : divideHalfEven(costs * 10n ** 12n, units);
  return {
    units: picocentsToNumber(units),
    units_exact: formatPicocents(units),
    cost_per_unit: each === null ? null : picocentsToNumber(each),
    cost_per_unit_exact: each === null ? null : formatPicocents(each),
  };
}

export async function customerMetricsApi(app: FastifyInstance, deps: { store: Store }): Promise<void> {
  app.get<{
    Querystring: WindowQuery & { sort: CustomerSort; limit: number; offset: number; query?: string; meter?: string };
  }>(
    '/v1/metrics/customers',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Per customer: revenue, costs, profit, margin, lifetime value, cost share',
        tags: ['metrics'],
        response: { 200: CUSTOMER_METRICS_RESPONSE, ...errors(401, 403, 404, 422, 503) },
        querystring: windowQuerystring({
          sort: { type: 'string', enum: Object.keys(CUSTOMER_SORTS), default: '-profit' },
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
          offset: { type: 'integer', minimum: 0, maximum: MAX_OFFSET, default: 0 },
          query: { type: 'string' },
          meter: { type: 'string', minLength: 1, description: 'a meter id: adds units and cost per unit' },
        }),
      },
    },
    async (request) => {
      const q = request.query;
      const window = windowMicros(q);
      const meter = q.meter === undefined ? null : await meterById(deps.store, q.meter);
      const { rows, total, allCosts, unattributedCosts } = await deps.store.customerMetrics({
        ...window,
        sort: q.sort,
        limit: q.limit,
        offset: q.offset,
        ...(q.query ? { query: q.query } : {}),
      });
      const units =
        meter === null
          ? null
          : await deps.store.meters.unitsByCustomer(
              meter,
              window,
              rows.map((r) => r.externalId),
            );
      return {
        items: rows.map((r) => {
          const profit = r.revenue - r.costs;
          return {
            customer_id: r.externalId,
            name: r.name,
            created_at: r.createdAt,
            revenue: money(r.revenue),
            costs: money(r.costs),
            profit: money(profit),
            margin: r.revenue > 0n ? ratio(profit, r.revenue) : null,
            ltv: money(r.ltv),
            cost_share: allCosts > 0n ? ratio(r.costs, allCosts) : 0,
            costs_exact: formatPicocents(r.costs),
            allocated_costs: money(r.allocatedCosts),
            allocated_costs_exact: formatPicocents(r.allocatedCosts),
            ...(units === null ? {} : perUnit(r.costs, units.get(r.externalId) ?? 0n)),
          };
        }),
        pagination: { total_count: total, limit: q.limit, offset: q.offset },
        /** Cost in the window that no customer could be given (no customer.id on the span, its ancestors or resource). */
        unattributed_costs: money(unattributedCosts),
        total_costs: money(allCosts),
      };
    },
  );

  app.get<{
    Querystring: WindowQuery & { group_by: GroupBy; customer_id?: string; limit: number; quantiles: 'exact' | 'auto' };
  }>(
    '/v1/cost-drivers',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Which calls drove cost: shares, per-trace percentiles and outliers per group',
        tags: ['metrics'],
        response: { 200: COST_DRIVERS_RESPONSE, ...READ_ERRORS },
        querystring: windowQuerystring({
          group_by: { type: 'string', enum: Object.keys(GROUP_BY), default: 'model' },
          customer_id: { type: 'string', minLength: 1 },
          limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
          // auto: the day index's sketch where it applies (all customers, by model, vendor or service), else exact.
          quantiles: { type: 'string', enum: ['auto', 'exact'], default: 'auto' },
        }),
      },
    },
    async (request) => {
      const q = request.query;
      const window = windowMicros(q);
      const { groups, total, quantiles } = await deps.store.costDrivers(
        window,
        q.customer_id,
        q.group_by,
        q.limit,
        q.quantiles,
      );
      return {
        group_by: q.group_by,
        customer_id: q.customer_id ?? null,
        total_cost: money(total),
        quantiles,
        quantile_relative_error: quantiles === 'sketch' ? SKETCH_RELATIVE_ERROR : 0,
        groups: groups.map((g) => ({
          key: g.key,
          cost: money(g.cost),
          share: total > 0n ? ratio(g.cost, total) : 0,
          records: g.records,
          traces: g.traces,
          per_trace: { p50: money(g.p50), p90: money(g.p90), p99: money(g.p99) },
          outliers: g.outliers.map((o) => ({ trace_id: o.traceKey, cost: money(o.cost) })),
        })),
      };
    },
  );
}
