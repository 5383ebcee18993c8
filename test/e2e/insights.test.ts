/**
 * Insights (docs/contract.md §11): on a seeded dataset every insight type fires with the right severity, subject and
 * numbers; on a healthy one none does.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../helpers/collector.ts';
import { jsonRequest, type SpanSpec } from '../helpers/otlp.ts';

const open: TestCollector[] = [];
afterAll(async () => {
  for (const c of open) await c.close();
});

let t = 0;
/** One trace: a root for the customer with one costed child (and optional GenAI usage with no price). */
function trace(customer: string, day: string, cents: number, root = 'POST /answer', usage?: string): SpanSpec[] {
  t++;
  const traceId = t.toString(16).padStart(32, '0');
  const at = String(BigInt(Date.parse(`${day}T10:00:00Z`)) * 1_000_000n);
  return [
    {
      traceId,
      spanId: '0000000000000001',
      name: root,
      startTimeUnixNano: at,
      endTimeUnixNano: at,
      attributes: { 'customer.id': customer },
    },
    {
      traceId,
      spanId: '0000000000000002',
      parentSpanId: '0000000000000001',
      name: 'call',
      startTimeUnixNano: at,
      endTimeUnixNano: at,
      attributes: usage
        ? { 'gen_ai.request.model': usage, 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 10 }
        : { '_cost.amount': String(cents) },
    },
  ];
}

async function seed(spans: SpanSpec[], revenue: Array<[string, string, number]>): Promise<TestCollector> {
  const c = await startTestCollector();
  open.push(c);
  const res = await fetch(`${c.url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(jsonRequest(spans)),
  });
  expect(res.status).toBe(200);
  if (revenue.length > 0) {
    const ev = await fetch(`${c.url}/v1/events/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        events: revenue.map(([customer, day, amount]) => ({
          name: 'order.paid',
          external_customer_id: customer,
          timestamp: `${day}T09:00:00Z`,
          metadata: { _revenue: { amount, currency: 'usd' } },
        })),
      }),
    });
    expect(ev.status).toBe(200);
  }
  return c;
}

const insights = async (c: TestCollector) =>
  (
    (await (await fetch(`${c.url}/v1/insights?start_date=2026-03-10&end_date=2026-03-16`)).json()) as {
      items: Array<{ type: string; severity: string; message: string; data: Record<string, unknown> }>;
    }
  ).items;

describe('insights', () => {
  it('fires every type on a seeded dataset, critical first, with the data behind each', async () => {
    const spans = [
      // previous window (2026-03-03..09): 2 customers, 10 cents each → 10 per active customer
      ...trace('acme', '2026-03-04', 10),
      ...trace('globex', '2026-03-05', 10),
      // this window: acme 10 × 10 + one 200-cent trace of the same root (7.3× the mean of 11)
      ...Array.from({ length: 10 }, (_, i) => trace('acme', `2026-03-1${i % 7}`, 10)).flat(),
      ...trace('acme', '2026-03-12', 200),
      ...trace('globex', '2026-03-12', 150, 'POST /report'),
      ...trace('initech', '2026-03-13', 50, 'POST /report'),
      ...trace('initech', '2026-03-13', 0, 'POST /chat', 'mystery-model'),
    ];
    const c = await seed(spans, [
      ['acme', '2026-03-11', 1000],
      ['globex', '2026-03-11', 100],
    ]);
    const items = await insights(c);
    const byType = (type: string) => items.filter((i) => i.type === type);
    expect(items.map((i) => i.severity)).toEqual([...items.map((i) => i.severity)].sort());
    // revenue 1100, costs 500: margin 54.5% (below 70%, not below 40%)
    expect(byType('low_gross_margin')).toEqual([
      expect.objectContaining({ severity: 'warning', data: expect.objectContaining({ revenue: 1100, costs: 500 }) }),
    ]);
    expect(byType('low_gross_margin')[0]?.data.margin).toBeCloseTo(600 / 1100, 6);
    expect(byType('customer_losing_money').map((i) => [i.data.customer_id, i.severity, i.data.profit])).toEqual([
      ['initech', 'critical', -50],
      ['globex', 'warning', -50],
    ]);
    // acme: 300 of 500 = 60%
    expect(byType('cost_concentration').map((i) => [i.data.customer_id, i.severity, i.data.share])).toEqual([
      ['acme', 'critical', 0.6],
    ]);
    const perUser = byType('cost_per_user_change');
    expect(perUser).toEqual([
      expect.objectContaining({ severity: 'warning', data: expect.objectContaining({ previous_cost_per_user: 10 }) }),
    ]);
    // 500 cents over 3 active customers vs 20 over 2
    expect(perUser[0]?.data.cost_per_user).toBeCloseTo(500 / 3, 9);
    const anomalous = byType('anomalous_traces');
    expect(anomalous).toHaveLength(1);
    expect(anomalous[0]).toMatchObject({
      severity: 'critical',
      data: { root_name: 'POST /answer', cost: 200, traces_with_root_name: 11 },
    });
    expect(anomalous[0]?.data.times).toBeCloseTo(200 / (300 / 11), 3);
    expect(byType('unpriced_usage')).toEqual([
      expect.objectContaining({
        severity: 'warning',
        data: { model: 'mystery-model', vendor: null, reason: 'no price for model "mystery-model"', spans: 1 },
      }),
    ]);
    expect(items.every((i) => i.message.length > 20)).toBe(true);
  });

  it('stays silent on a healthy dataset', async () => {
    const customers = ['a', 'b', 'c', 'd'];
    const spans = customers.flatMap((id) => [
      ...trace(id, '2026-03-05', 100),
      ...Array.from({ length: 4 }, (_, i) => trace(id, `2026-03-1${i}`, 25)).flat(),
    ]);
    const c = await seed(
      spans,
      customers.map((id) => [id, '2026-03-11', 10_000]),
    );
    expect(await insights(c)).toEqual([]);
  });

  it('refuses a window longer than 366 days', async () => {
    const c = open[0] as TestCollector;
    const res = await fetch(`${c.url}/v1/insights?start_date=2025-01-01&end_date=2026-03-16`);
    expect(res.status).toBe(422);
  });
});
