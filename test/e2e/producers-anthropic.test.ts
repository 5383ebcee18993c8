/**
 * Real Anthropic-side GenAI producers, each in its own Node process with the official OTLP/HTTP exporter, call a
 * loopback Anthropic Messages API (JSON and SSE) inside a request span that names the customer; a real collector
 * must price every call once, at Anthropic's public rates (uncached input, 5-minute cache writes, cache reads and
 * output each at their own rate), on the LLM call's span only, for the call's customer, under the vendor
 * `anthropic`, and flag a call without usage as unpriced (never $0).
 *
 * Producers: the Anthropic SDK's own tracing (1.14.0 and 0.137.0), OpenLLMetry's instrumentation on top of it
 * (the SDK span is then a child of OpenLLMetry's `chat <model>` span, same usage: counted once) and the Vercel AI
 * SDK (`ai.generateText` / `ai.streamText` over `.doGenerate` / `.doStream`, both with usage: counted once).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { malformedSpanCases, requestWithMalformedSpan } from '../helpers/anthropic-malformed.ts';
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
} from '../helpers/anthropic-producers.ts';
import { startTestCollector, type TestCollector } from '../helpers/collector.ts';
import { type AnthropicUsage, type FakeAnthropic, startFakeAnthropic } from '../helpers/fake-anthropic.ts';

/** Usage the fake API answers with, by scenario key (Anthropic's shape: `input_tokens` excludes the cache). */
const USAGE: Record<string, AnthropicUsage | null> = {
  plain: { input_tokens: 1000, output_tokens: 500 },
  cache: { input_tokens: 40, cache_creation_input_tokens: 1200, cache_read_input_tokens: 3000, output_tokens: 250 },
  stream: { input_tokens: 60, cache_creation_input_tokens: 800, cache_read_input_tokens: 2000, output_tokens: 150 },
  haiku: { input_tokens: 2000, cache_creation_input_tokens: 100, cache_read_input_tokens: 500, output_tokens: 400 },
  'no-usage': null,
};

interface Call extends ProducerCall {
  readonly key: string;
}
const callsFor = (producer: string, withNoUsage: boolean): Call[] => [
  { name: 'plain', key: 'plain', model: SONNET_4, customer: `${producer}-plain` },
  { name: 'cache', key: 'cache', model: SONNET_4, customer: `${producer}-cache` },
  { name: 'stream', key: 'stream', model: SONNET_4, customer: `${producer}-stream`, stream: true },
  { name: 'haiku', key: 'haiku', model: HAIKU_3_5, customer: `${producer}-haiku` },
  ...(withNoUsage ? [{ name: 'no-usage', key: 'no-usage', model: SONNET_4, customer: `${producer}-no-usage` }] : []),
];

const PRODUCERS = [
  { producer: 'sdk-1', title: 'Anthropic SDK 1.14 own tracing', noUsage: true },
  { producer: 'sdk-0', title: 'Anthropic SDK 0.137 own tracing', noUsage: true },
  { producer: 'openllmetry', title: 'OpenLLMetry 0.27 + Anthropic SDK 0.137', noUsage: true },
  { producer: 'openllmetry-sdk-1', title: 'OpenLLMetry 0.27 + Anthropic SDK 1.14', noUsage: true },
  // The AI SDK refuses an Anthropic answer without `usage` (a type-validation error), so it has no such call.
  { producer: 'ai-sdk', title: 'AI SDK 6 + @ai-sdk/anthropic 3', noUsage: false },
];

let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic({ usage: USAGE });
});
afterAll(async () => {
  await fake.close();
});

describe.each(PRODUCERS)('$title', ({ producer, noUsage }) => {
  const calls = callsFor(producer, noUsage);
  const priced = calls.filter((c) => USAGE[c.key] !== null);
  let c: TestCollector;
  let traces: Map<string, string>;
  let exportErrors: string[];
  beforeAll(async () => {
    c = await startTestCollector();
    ({ traces, exportErrors } = await runProducer(producer, calls, {
      anthropicUrl: fake.url,
      otlpUrl: `${c.url}/v1/traces`,
    }));
  }, 90_000);
  afterAll(async () => {
    await c?.close();
  });

  it('has every export accepted by the collector', () => {
    expect(exportErrors).toEqual([]);
  });

  describe.each(priced)('$name call', (call) => {
    const usage = USAGE[call.key] as AnthropicUsage;
    const exact = centsString(expectedPicocents(call.model, usage));

    it('puts the public-price cost on exactly one span of the call', async () => {
      const { spans } = await readTrace(c.url, traces.get(call.name) as string);
      const withCost = costed(spans);
      expect(withCost.map((s) => ({ name: s.name, cost_exact: s.cost_exact, source: s.cost_source }))).toEqual([
        { name: expect.any(String), cost_exact: exact, source: expect.stringMatching(/^(inferred|priced)$/) },
      ]);
      expect(withCost[0]?.cost).toBe(Number(exact));
    });

    it('totals the trace at the public-price cost of the one call', async () => {
      const { tree } = await readTrace(c.url, traces.get(call.name) as string);
      expect(tree.total_cost_exact).toBe(exact);
      expect(tree.total_cost).toBe(Number(exact));
    });

    it("attributes the priced span to the call's customer", async () => {
      const { tree, spans } = await readTrace(c.url, traces.get(call.name) as string);
      expect(tree.customer_id).toBe(call.customer);
      expect(costed(spans).map((s) => s.customer_id)).toEqual([call.customer]);
      expect(spans.every((s) => s.customer_id === call.customer)).toBe(true);
    });
  });

  it('groups every call under the one vendor `anthropic` in cost drivers', async () => {
    const expected = centsString(
      priced.reduce((sum, k) => sum + expectedPicocents(k.model, USAGE[k.key] as AnthropicUsage), 0n),
    );
    const drivers = await readJson<CostDrivers>(`${c.url}/v1/cost-drivers?group_by=vendor&${aroundToday()}`);
    expect(drivers.groups.map((g) => ({ key: g.key, cost: g.cost, traces: g.traces }))).toEqual([
      { key: 'anthropic', cost: Number(expected), traces: priced.length },
    ]);
    expect(drivers.total_cost).toBe(Number(expected));
  });

  // Only producers that can make such a call get this test (no skipped entries).
  const itWithoutUsage = noUsage ? it : () => undefined;
  itWithoutUsage('flags the call without usage as unpriced on one span, never $0', async () => {
    const call = calls.find((k) => k.name === 'no-usage') as Call;
    const { spans } = await readTrace(c.url, traces.get(call.name) as string);
    expect(costed(spans)).toEqual([]);
    const flagged = spans.filter((s) => s.cost_source === 'unpriced');
    expect(flagged).toHaveLength(1);
    expect(flagged[0]?.customer_id).toBe(call.customer);
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

describe('one request with a malformed Anthropic span next to good spans', () => {
  let c: TestCollector;
  beforeAll(async () => {
    c = await startTestCollector();
  });
  afterAll(async () => {
    await c.close();
  });

  it.each(malformedSpanCases())('answers 200 and stores the good spans of the other customer: $title', async (bad) => {
    const request = requestWithMalformedSpan(bad);
    const res = await fetch(`${c.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request.body),
    });
    expect(res.status).toBe(200);
    const { tree, spans } = await readTrace(c.url, request.goodTraceId);
    expect(tree.customer_id).toBe(request.goodCustomer);
    expect(spans.map((s) => s.span_id).sort()).toEqual([...request.goodSpanIds].sort());
    expect(costed(spans).map((s) => [s.customer_id, s.cost_exact])).toEqual([[request.goodCustomer, request.goodCost]]);
  });
});
