import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../../helpers/collector.ts';
import { post } from '../../helpers/http.ts';
import { jsonRequest } from '../../helpers/otlp.ts';

let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector({ nowMicros: () => BigInt(Date.UTC(2026, 0, 1)) * 1000n });
  const at = (minute: number) => String(BigInt(Date.UTC(2025, 4, 1, 12, minute)) * 1_000_000n);
  // 10 traces of "POST /answer" for acme: each an LLM call costing 1 cent, except trace 9 costing 100
  for (let t = 0; t < 10; t++) {
    const traceId = `${t.toString(16).padStart(2, '0')}${'a'.repeat(30)}`;
    const body = jsonRequest(
      [
        {
          traceId,
          spanId: `${'0'.repeat(15)}1`,
          name: 'POST /answer',
          startTimeUnixNano: at(t),
          attributes: { 'customer.id': 'acme' },
        },
        {
          traceId,
          spanId: `${'0'.repeat(15)}2`,
          parentSpanId: `${'0'.repeat(15)}1`,
          name: 'chat gpt-4o',
          startTimeUnixNano: at(t),
          attributes: {
            '_cost.amount': t === 9 ? 100 : 1,
            'gen_ai.request.model': 'gpt-4o',
            'gen_ai.provider.name': 'OpenAI',
          },
        },
        {
          traceId,
          spanId: `${'0'.repeat(15)}3`,
          parentSpanId: `${'0'.repeat(15)}1`,
          name: 'send email',
          startTimeUnixNano: at(t),
          attributes: { '_cost.amount': 0.1 },
        },
      ],
      { 'service.name': 'answers-api' },
    );
    await post(`${c.url}/v1/traces`, body);
  }
  await post(`${c.url}/v1/events/ingest`, {
    events: [
      { name: 'job', external_customer_id: 'globex', external_id: 'job-1', timestamp: '2025-05-01T13:00:00Z' },
      {
        name: 'llm',
        external_customer_id: 'globex',
        external_id: 'job-1-llm',
        parent_id: 'job-1',
        timestamp: '2025-05-01T13:00:01Z',
        metadata: {
          _cost: { amount: 7, currency: 'usd' },
          _llm: { vendor: 'anthropic', model: 'claude-sonnet', input_tokens: 10, output_tokens: 5, total_tokens: 15 },
        },
      },
      {
        name: 'refund',
        external_customer_id: 'globex',
        timestamp: '2025-05-02T13:00:00Z',
        metadata: { _revenue: { amount: -500, currency: 'usd' } },
      },
      {
        name: 'order',
        external_customer_id: 'acme',
        timestamp: '2025-05-02T13:00:00Z',
        metadata: { _revenue: { amount: 2000, currency: 'usd' } },
      },
    ],
  });
});
afterAll(async () => {
  await c.close();
});

describe('GET /v1/cost-drivers', () => {
  it('groups by model with shares, per-trace percentiles and the p99 outlier', async () => {
    const { body } = await c.injectJson(
      'GET',
      '/v1/cost-drivers?start_date=2025-05-01&end_date=2025-05-31&group_by=model',
    );
    expect(body).toEqual({
      group_by: 'model',
      customer_id: null,
      total_cost: 117,
      // No day indexed yet (the indexer ran at start, before the data came): answered exactly.
      quantiles: 'exact',
      quantile_relative_error: 0,
      groups: [
        {
          key: 'gpt-4o',
          cost: 109,
          share: Number((109 / 117).toFixed(12)),
          records: 10,
          traces: 10,
          per_trace: { p50: 1, p90: 1, p99: 100 },
          outliers: [{ trace_id: `09${'a'.repeat(30)}`, cost: 100 }],
        },
        {
          key: 'claude-sonnet',
          cost: 7,
          share: Number((7 / 117).toFixed(12)),
          records: 1,
          traces: 1,
          per_trace: { p50: 7, p90: 7, p99: 7 },
          outliers: [{ trace_id: 'job-1', cost: 7 }],
        },
        {
          key: null,
          cost: 1,
          share: Number((1 / 117).toFixed(12)),
          records: 10,
          traces: 10,
          per_trace: { p50: 0.1, p90: 0.1, p99: 0.1 },
          outliers: expect.any(Array),
        },
      ],
    });
  });

  it('groups by vendor (lower-cased), service, span name and root name, and filters by customer', async () => {
    const keys = async (q: string) =>
      (
        (await c.injectJson('GET', `/v1/cost-drivers?start_date=2025-05-01&end_date=2025-05-31&${q}`)).body
          .groups as Array<{
          key: string | null;
          cost: number;
        }>
      ).map((g) => [g.key, g.cost]);
    expect(await keys('group_by=vendor')).toEqual([
      ['openai', 109],
      ['anthropic', 7],
      [null, 1],
    ]);
    expect(await keys('group_by=service')).toEqual([
      ['answers-api', 110],
      [null, 7],
    ]);
    expect(await keys('group_by=span_name')).toEqual([
      ['chat gpt-4o', 109],
      ['llm', 7],
      ['send email', 1],
    ]);
    expect(await keys('group_by=root_name')).toEqual([
      ['POST /answer', 110],
      ['job', 7],
    ]);
    expect(await keys('group_by=root_name&customer_id=globex')).toEqual([['job', 7]]);
  });

  it.each([
    ['start_date=2025-05-01&end_date=2025-04-01', ['query', 'end_date']],
    ['start_date=2025-05-01&end_date=2025-05-31&group_by=color', ['query', 'group_by']],
    ['end_date=2025-05-31', ['query', 'start_date']],
  ])('422 for %s', async (q, loc) => {
    const { status, body } = await c.injectJson('GET', `/v1/cost-drivers?${q}`);
    expect(status).toBe(422);
    expect((body.detail as Array<{ loc: unknown[] }>).map((d) => d.loc)).toContainEqual(loc);
  });
});

describe('GET /v1/metrics/customers', () => {
  it('ranks customers by profit with margin, ltv and cost share; pages', async () => {
    const { body } = await c.injectJson('GET', '/v1/metrics/customers?start_date=2025-05-01&end_date=2025-05-31');
    expect(body).toEqual({
      items: [
        {
          customer_id: 'acme',
          name: null,
          created_at: '2025-05-01T12:00:00.000000Z',
          revenue: 2000,
          costs: 110,
          profit: 1890,
          margin: 0.945,
          ltv: 1890,
          cost_share: Number((110 / 117).toFixed(12)),
          costs_exact: '110',
          allocated_costs: 0,
          allocated_costs_exact: '0',
        },
        {
          customer_id: 'globex',
          name: null,
          created_at: '2025-05-01T13:00:00.000000Z',
          revenue: -500,
          costs: 7,
          profit: -507,
          margin: null,
          ltv: -507,
          cost_share: Number((7 / 117).toFixed(12)),
          costs_exact: '7',
          allocated_costs: 0,
          allocated_costs_exact: '0',
        },
      ],
      pagination: { total_count: 2, limit: 50, offset: 0 },
      unattributed_costs: 0,
      total_costs: 117,
    });
    const page = await c.injectJson(
      'GET',
      '/v1/metrics/customers?start_date=2025-05-01&end_date=2025-05-31&sort=profit&limit=1',
    );
    expect((page.body.items as Array<{ customer_id: string }>).map((i) => i.customer_id)).toEqual(['globex']);
    expect(page.body.pagination).toEqual({ total_count: 2, limit: 1, offset: 0 });
  });

  it.each([
    ['start_date=2025-05-01&end_date=2025-05-31&sort=-vibes', ['query', 'sort']],
    ['start_date=2025-05-01&end_date=2025-05-31&limit=0', ['query', 'limit']],
    ['start_date=2025-05-01&end_date=2025-05-31&timezone=Nowhere/City', ['query', 'timezone']],
    ['start_date=May&end_date=2025-05-31', ['query', 'start_date']],
  ])('422 for %s', async (q, loc) => {
    const { status, body } = await c.injectJson('GET', `/v1/metrics/customers?${q}`);
    expect(status).toBe(422);
    expect((body.detail as Array<{ loc: unknown[] }>).map((d) => d.loc)).toContainEqual(loc);
  });
});
