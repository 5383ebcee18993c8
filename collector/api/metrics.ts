/**
 * `GET /v1/metrics` (Polar-compatible, docs/contract.md §4): periods in the requested zone and interval,
 * totals, and metric metadata. Spans and events count alike (one records table).
 */
import type { FastifyInstance } from 'fastify';
import { METRICS_RESPONSE, READ_ERRORS } from '../http/schemas.ts';
import { key, periodWindow } from '../metrics/calendar.ts';
import { computeMetrics } from '../metrics/compute.ts';
import { METRICS } from '../metrics/definitions.ts';
import { type MetricsQuery, parseMetricsQuery, type RawMetricsQuery } from '../metrics/params.ts';
import type { MetricScope } from '../reads/metric-reads.ts';
import type { Store } from '../store.ts';

export const METRICS_QUERYSTRING = {
  type: 'object',
  additionalProperties: false,
  required: ['start_date', 'end_date', 'interval'],
  properties: {
    start_date: { type: 'string' },
    end_date: { type: 'string' },
    interval: { type: 'string', enum: ['hour', 'day', 'week', 'month', 'year'] },
    timezone: { type: 'string' },
    customer_id: { type: 'array', items: { type: 'string', minLength: 1 } },
    metrics: { type: 'array', items: { type: 'string' } },
  },
} as const;

export async function metricsApi(app: FastifyInstance, deps: { store: Store }): Promise<void> {
  app.get<{ Querystring: RawMetricsQuery }>(
    '/v1/metrics',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Revenue, costs, profit and activity per period (Polar-compatible)',
        tags: ['metrics'],
        querystring: METRICS_QUERYSTRING,
        response: { 200: METRICS_RESPONSE, ...READ_ERRORS },
      },
    },
    async (request) => runMetrics(deps.store, parseMetricsQuery(request.query)),
  );
}

export async function runMetrics(store: Store, q: MetricsQuery) {
  const { periods, fromMs, toMs, zone } = periodWindow(q);
  const customerKeys = q.customerIds === null ? null : await store.customerKeys(q.customerIds);
  const scope: MetricScope = { fromMicros: BigInt(fromMs) * 1000n, toMicros: BigInt(toMs) * 1000n, customerKeys };
  // Two independent scans: run them on two pooled connections at once.
  const [buckets, totals] = await Promise.all([
    store.bucketSums(scope, q.interval, zone.segments),
    store.rangeTotals(scope),
  ]);
  const computed = computeMetrics({
    periods: periods.map((p) => buckets.get(key(p)) ?? { revenue: 0n, costs: 0n, activeUsers: 0 }),
    before: { revenue: totals.revenueBefore, costs: totals.costsBefore },
    distinctActiveUsers: totals.distinctActive,
  });
  const pick = (values: Record<string, number>) => Object.fromEntries(q.slugs.map((s) => [s, values[s] as number]));
  return {
    periods: periods.map((p, i) => ({ timestamp: zone.isoWithOffset(p), ...pick(computed.periods[i] ?? {}) })),
    totals: pick(computed.totals),
    metrics: Object.fromEntries(q.slugs.map((s) => [s, METRICS[s]])),
  };
}
