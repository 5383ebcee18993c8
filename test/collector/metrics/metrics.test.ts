/** Polar's own cost-metric cases, reproduced through GET /v1/metrics, plus every 422 path. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startTestCollector, type TestCollector } from '../../helpers/collector.ts';
import { jsonRequest } from '../../helpers/otlp.ts';

let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector({ nowMicros: () => BigInt(Date.UTC(2026, 5, 1)) * 1000n });
});
afterAll(async () => {
  await c.close();
});

async function ingest(events: unknown[]) {
  expect((await postJson(`${c.url}/v1/events/ingest`, { events })).status).toBe(200);
}
const cost = (customer: string, timestamp: string, amount: string | number, extra: Record<string, unknown> = {}) => ({
  name: 'usage',
  external_customer_id: customer,
  timestamp,
  metadata: { _cost: { amount, currency: 'usd' }, ...extra },
});
const revenue = (customer: string, timestamp: string, amount: number) => ({
  name: 'order.paid',
  external_customer_id: customer,
  timestamp,
  metadata: { _revenue: { amount, currency: 'usd' } },
});
interface MetricsBody {
  periods: Array<Record<string, number | string>>;
  totals: Record<string, number>;
  metrics: Record<string, unknown>;
  error?: string;
  detail?: Array<{ loc: unknown[] }>;
}
async function metrics(query: string) {
  const res = await fetch(`${c.url}/v1/metrics?${query}`);
  return { status: res.status, body: (await res.json()) as MetricsBody };
}

describe('Polar cost metrics, reproduced', () => {
  it('keeps 0.000001 cents', async () => {
    await ingest([cost('tiny', '2024-06-01T10:00:00Z', '0.000001')]);
    const { body } = await metrics(
      'start_date=2024-06-01&end_date=2024-06-01&interval=day&customer_id=tiny&metrics=costs',
    );
    expect(body).toEqual({
      periods: [{ timestamp: '2024-06-01T00:00:00Z', costs: 0.000001 }],
      totals: { costs: 0.000001 },
      metrics: { costs: { slug: 'costs', display_name: 'Costs', type: 'currency_sub_cent' } },
    });
  });

  it('cost_per_user: 0.80/2, 0.20/2, 0 and total 1.00/2 (a $0 event still counts as activity)', async () => {
    await ingest([
      cost('cpu-a', '2024-01-10T00:00:00Z', 0.5),
      cost('cpu-b', '2024-01-11T00:00:00Z', 0.3),
      cost('cpu-a', '2024-02-10T00:00:00Z', 0.2),
      cost('cpu-b', '2024-02-11T00:00:00Z', 0),
    ]);
    const { body } = await metrics(
      'start_date=2024-01-01&end_date=2024-03-31&interval=month&customer_id=cpu-a&customer_id=cpu-b&metrics=cost_per_user',
    );
    expect(body.periods).toEqual([
      { timestamp: '2024-01-01T00:00:00Z', cost_per_user: 0.4, costs: 0.8, active_user_by_event: 2 },
      { timestamp: '2024-02-01T00:00:00Z', cost_per_user: 0.1, costs: 0.2, active_user_by_event: 2 },
      { timestamp: '2024-03-01T00:00:00Z', cost_per_user: 0, costs: 0, active_user_by_event: 0 },
    ]);
    expect(body.totals).toEqual({ cost_per_user: 0.5, costs: 1, active_user_by_event: 2 });
  });

  it('gross_margin: 10000 − 25 = 9975, then cumulative 19960, then flat', async () => {
    await ingest([
      revenue('gm', '2024-01-05T00:00:00Z', 10000),
      cost('gm', '2024-01-06T00:00:00Z', 25),
      revenue('gm', '2024-02-05T00:00:00Z', 10000),
      cost('gm', '2024-02-06T00:00:00Z', 15),
    ]);
    const { body } = await metrics(
      'start_date=2024-01-01&end_date=2024-03-31&interval=month&customer_id=gm&metrics=gross_margin&metrics=gross_margin_percentage',
    );
    expect(body.periods.map((p) => [p.gross_margin, p.gross_margin_percentage])).toEqual([
      [9975, 0.9975],
      [19960, 0.998],
      [19960, 0.998],
    ]);
    expect(body.totals).toMatchObject({ gross_margin: 19960, cumulative_revenue: 20000, cumulative_costs: 40 });
    expect(Object.keys(body.metrics)).toEqual([
      'revenue',
      'cumulative_revenue',
      'costs',
      'cumulative_costs',
      'gross_margin',
      'gross_margin_percentage',
    ]);
  });

  it('cumulative series carry everything before start_date', async () => {
    const { body } = await metrics(
      'start_date=2024-02-01&end_date=2024-02-29&interval=month&customer_id=gm&metrics=cumulative_costs&metrics=cumulative_revenue',
    );
    expect(body.periods).toEqual([
      {
        timestamp: '2024-02-01T00:00:00Z',
        revenue: 10000,
        cumulative_revenue: 20000,
        costs: 15,
        cumulative_costs: 40,
      },
    ]);
  });

  it('Asia/Kolkata daily buckets with a customer filter: 0.11 and 0.22, one active user per day', async () => {
    await ingest([
      cost('kol', '2024-03-01T19:00:00Z', 0.11), // 2024-03-02 00:30 IST
      cost('kol', '2024-03-02T18:29:59Z', 0), // 2024-03-02 23:59:59 IST
      cost('kol', '2024-03-02T19:00:00Z', 0.22), // 2024-03-03 00:30 IST
      cost('kol-other', '2024-03-02T19:00:00Z', 5),
    ]);
    const { body } = await metrics(
      'start_date=2024-03-02&end_date=2024-03-03&interval=day&timezone=Asia/Kolkata&customer_id=kol&metrics=costs&metrics=active_user_by_event',
    );
    expect(body.periods).toEqual([
      { timestamp: '2024-03-02T00:00:00+05:30', costs: 0.11, active_user_by_event: 1 },
      { timestamp: '2024-03-03T00:00:00+05:30', costs: 0.22, active_user_by_event: 1 },
    ]);
    expect(body.totals).toEqual({ costs: 0.33, active_user_by_event: 1 });
  });

  it('an events-API customer and a span customer with the same id are one customer', async () => {
    await ingest([cost('same-id', '2024-04-01T10:00:00Z', 1)]);
    const span = jsonRequest(
      [
        {
          traceId: 'fe'.repeat(16),
          spanId: 'fe'.repeat(8),
          startTimeUnixNano: String(BigInt(Date.UTC(2024, 3, 1, 12)) * 1_000_000n),
          attributes: { 'customer.id': 'same-id', '_cost.amount': 2 },
        },
      ],
      { 'service.name': 'api' },
    );
    await fetch(`${c.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(span),
    });
    const { body } = await metrics('start_date=2024-04-01&end_date=2024-04-01&interval=day&customer_id=same-id');
    expect(body.totals).toMatchObject({ costs: 3, active_user_by_event: 1, cost_per_user: 3 });
    const list = (await (await fetch(`${c.url}/v1/customers?query=same-id`)).json()) as { items: unknown[] };
    expect(list.items).toHaveLength(1);
  });

  it('snaps the start back to Monday for weeks and to the 1st for months', async () => {
    const week = await metrics(
      'start_date=2024-01-10&end_date=2024-01-16&interval=week&metrics=costs&customer_id=cpu-a',
    );
    expect(week.body.periods.map((p) => p.timestamp)).toEqual(['2024-01-08T00:00:00Z', '2024-01-15T00:00:00Z']);
    const year = await metrics(
      'start_date=2024-05-10&end_date=2025-01-02&interval=year&metrics=costs&customer_id=cpu-a',
    );
    expect(year.body.periods.map((p) => p.timestamp)).toEqual(['2024-01-01T00:00:00Z', '2025-01-01T00:00:00Z']);
  });
});

describe('GET /v1/metrics: 422 with the location', () => {
  it('ignores unknown query parameters, as FastAPI/Polar do', async () => {
    expect((await metrics('start_date=2024-01-01&end_date=2024-01-02&interval=day&bogus=1')).status).toBe(200);
  });

  it.each([
    ['start_date=2024-13-01&end_date=2024-12-31&interval=day', ['query', 'start_date']],
    ['start_date=2024-01-01&end_date=2024-02-30&interval=day', ['query', 'end_date']],
    ['start_date=2024-02-01&end_date=2024-01-01&interval=day', ['query', 'end_date']],
    ['start_date=2024-01-01&end_date=2024-01-09&interval=hour', ['query', 'end_date']],
    ['start_date=2024-01-01&end_date=2025-01-02&interval=day', ['query', 'end_date']],
    ['start_date=2020-01-01&end_date=2030-01-02&interval=year', ['query', 'end_date']],
    ['start_date=2024-01-01&end_date=2024-01-02&interval=day&timezone=Mars/Olympus', ['query', 'timezone']],
    ['start_date=2024-01-01&end_date=2024-01-02&interval=day&metrics=mrr', ['query', 'metrics']],
    ['start_date=2024-01-01&end_date=2024-01-02&interval=fortnight', ['query', 'interval']],
    ['end_date=2024-01-02&interval=day', ['query', 'start_date']],
  ])('%s', async (query, loc) => {
    const { status, body } = await metrics(query);
    expect(status).toBe(422);
    expect(body.error).toBe('validation_error');
    expect((body.detail ?? []).map((d) => d.loc)).toContainEqual(loc);
  });
});
