/**
 * Langfuse's OpenTelemetry SDK (@langfuse/otel LangfuseSpanProcessor with its documented `exporter` option set to
 * the official OTLP/HTTP exporter, @langfuse/tracing generations) in a Node process of its own, sending to a real
 * collector. A generation carries its model in `langfuse.observation.model.name`, its usage as JSON text in
 * `langfuse.observation.usage_details` ({input, output, cache_read_input_tokens, cache_creation_input_tokens}:
 * Anthropic's split, `input` without the cache) and optionally a provider cost in USD in
 * `langfuse.observation.cost_details`. The collector must price a generation from that usage at Anthropic's public
 * rates, take a reported cost as it is, on the generation only, for the customer of the request, under the vendor
 * `anthropic`, and flag a generation with a model but no usage as unpriced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  aroundToday,
  type CostDrivers,
  centsString,
  costed,
  expectedPicocents,
  HAIKU_3_5,
  type ProducerCall,
  readJson,
  readTrace,
  runProducer,
  SONNET_4,
  type UnpricedModels,
  usdToPicocents,
} from '../helpers/anthropic-producers.ts';
import { startTestCollector, type TestCollector } from '../helpers/collector.ts';

interface Generation extends ProducerCall {
  /** What the collector must charge: exact picocents. */
  readonly expected: bigint | null;
  readonly source: readonly string[];
}

const GENERATIONS: Generation[] = [
  {
    name: 'plain',
    customer: 'lf-plain',
    model: SONNET_4,
    usageDetails: { input: 1000, output: 500 },
    expected: expectedPicocents(SONNET_4, { input_tokens: 1000, output_tokens: 500 }),
    source: ['inferred', 'priced'],
  },
  {
    name: 'cache',
    customer: 'lf-cache',
    model: SONNET_4,
    usageDetails: { input: 40, output: 250, cache_read_input_tokens: 3000, cache_creation_input_tokens: 1200 },
    expected: expectedPicocents(SONNET_4, {
      input_tokens: 40,
      cache_creation_input_tokens: 1200,
      cache_read_input_tokens: 3000,
      output_tokens: 250,
    }),
    source: ['inferred', 'priced'],
  },
  {
    name: 'haiku',
    customer: 'lf-haiku',
    model: HAIKU_3_5,
    usageDetails: { input: 2000, output: 400, cache_read_input_tokens: 500, cache_creation_input_tokens: 100 },
    expected: expectedPicocents(HAIKU_3_5, {
      input_tokens: 2000,
      cache_creation_input_tokens: 100,
      cache_read_input_tokens: 500,
      output_tokens: 400,
    }),
    source: ['inferred', 'priced'],
  },
  {
    // A reported cost that differs from the table's (1.05 cents): the report wins, in USD → cents.
    name: 'reported-cost',
    customer: 'lf-reported',
    model: SONNET_4,
    usageDetails: { input: 1000, output: 500 },
    costDetails: { input: 0.0041, output: 0.0082, total: 0.0123 },
    expected: usdToPicocents('0.0123'),
    source: ['reported'],
  },
  { name: 'no-usage', customer: 'lf-no-usage', model: SONNET_4, expected: null, source: ['unpriced'] },
];
const PRICED = GENERATIONS.filter((g) => g.expected !== null);

let c: TestCollector;
let traces: Map<string, string>;
let exportErrors: string[];
beforeAll(async () => {
  c = await startTestCollector();
  ({ traces, exportErrors } = await runProducer(
    'langfuse',
    GENERATIONS.map(({ expected: _e, source: _s, ...call }) => ({ ...call, key: call.name })),
    { otlpUrl: `${c.url}/v1/traces` },
  ));
}, 90_000);
afterAll(async () => {
  await c.close();
});

describe.each(PRICED)('Langfuse generation: $name', (g) => {
  const exact = centsString(g.expected as bigint);

  it('is priced from its Langfuse usage (or reported cost) on the generation span only', async () => {
    const { spans } = await readTrace(c.url, traces.get(g.name) as string);
    expect(costed(spans).map((s) => ({ name: s.name, cost_exact: s.cost_exact }))).toEqual([
      { name: 'anthropic-generation', cost_exact: exact },
    ]);
    const generation = costed(spans)[0];
    expect(generation?.cost).toBe(Number(exact));
    expect(g.source).toContain(generation?.cost_source);
  });

  it('totals the trace at that one cost', async () => {
    const { tree } = await readTrace(c.url, traces.get(g.name) as string);
    expect(tree.total_cost_exact).toBe(exact);
  });

  it("attributes the generation to the request's customer", async () => {
    const { tree, spans } = await readTrace(c.url, traces.get(g.name) as string);
    expect(tree.customer_id).toBe(g.customer);
    expect(spans.map((s) => [s.name, s.customer_id])).toEqual(
      expect.arrayContaining([
        [`handle ${g.name}`, g.customer],
        ['anthropic-generation', g.customer],
      ]),
    );
  });
});

describe('Langfuse generations together', () => {
  it('are all accepted by the collector', () => {
    expect(exportErrors).toEqual([]);
  });

  it('group under the one vendor `anthropic` in cost drivers', async () => {
    const total = centsString(PRICED.reduce((sum, g) => sum + (g.expected as bigint), 0n));
    const drivers = await readJson<CostDrivers>(`${c.url}/v1/cost-drivers?group_by=vendor&${aroundToday()}`);
    expect(drivers.groups.map((x) => ({ key: x.key, cost: x.cost, traces: x.traces }))).toEqual([
      { key: 'anthropic', cost: Number(total), traces: PRICED.length },
    ]);
    expect(drivers.total_cost).toBe(Number(total));
  });

  it('flag a generation with a model but no usage as unpriced, never $0', async () => {
    const { spans } = await readTrace(c.url, traces.get('no-usage') as string);
    expect(costed(spans)).toEqual([]);
    const generation = spans.find((s) => s.name === 'anthropic-generation');
    expect(generation).toMatchObject({ cost_source: 'unpriced', cost: null, customer_id: 'lf-no-usage' });
    const unpriced = await readJson<UnpricedModels>(`${c.url}/v1/prices/unpriced?${aroundToday()}`);
    expect(unpriced.items).toEqual([
      {
        vendor: 'anthropic',
        model: SONNET_4,
        reason: 'no token usage on the LLM span',
        spans: 1,
        last_seen: expect.any(String),
      },
    ]);
  });
});
