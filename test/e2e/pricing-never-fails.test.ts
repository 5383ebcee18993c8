/**
 * Pricing never fails a request (docs/contract.md §12): every malformed-usage shape, in OTLP/JSON and protobuf, beside a
 * good span of another customer — the request is answered 200, the good span stored at its price, the bad one
 * stored `unpriced` with its reason (and listed by /v1/prices/unpriced); re-pricing such spans succeeds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../helpers/collector.ts';
import { post, put } from '../helpers/http.ts';
import {
  type JsonAnyValue,
  jsonRequest,
  protobufRequest,
  type SpanSpec,
  spanIdOf,
  traceIdOf,
} from '../helpers/otlp.ts';

type Attrs = Record<string, string | number | boolean | JsonAnyValue>;
const SONNET = { 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.model': 'claude-sonnet-4-20250514' };
const START_NS = String(BigInt(Date.UTC(2026, 10, 2, 12)) * 1_000_000n);
const DAY = '2026-11-02';

/** Bad usage shapes → the reason the span is unpriced (a fragment of it). */
const MALFORMED: Array<[string, Attrs, RegExp]> = [
  [
    'negative input',
    { ...SONNET, 'gen_ai.usage.input_tokens': -5, 'gen_ai.usage.output_tokens': 10 },
    /input_tokens is -5/,
  ],
  [
    'over-large input (1e30)',
    { ...SONNET, 'gen_ai.usage.input_tokens': { doubleValue: 1e30 }, 'gen_ai.usage.output_tokens': 1 },
    /input_tokens is 1e\+30/,
  ],
  ['non-numeric counts', { ...SONNET, 'gen_ai.usage.input_tokens': 'abc' }, /input_tokens is "abc"/],
  [
    'a count that is an array',
    { ...SONNET, 'gen_ai.usage.output_tokens': { arrayValue: { values: [{ intValue: 1 }] } } },
    /output_tokens is an array/,
  ],
  ['usage but no model', { 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5 }, /no model name/],
  [
    'Langfuse usage_details that is not JSON',
    {
      'langfuse.observation.type': 'generation',
      'langfuse.observation.model.name': 'gpt-4o',
      'langfuse.observation.usage_details': '{input:',
    },
    /usage_details is not JSON/,
  ],
  ['a model but no usage at all', { ...SONNET, 'gen_ai.operation.name': 'chat' }, /no token usage/],
];

let c: TestCollector | undefined;
afterEach(async () => {
  await c?.close();
  c = undefined;
});

interface Node {
  span_id: string;
  customer_id: string | null;
  cost_exact: string | null;
  cost_source: string | null;
  attributes: Record<string, unknown>;
  children: Node[];
}

async function trace(traceId: string): Promise<Map<string, Node>> {
  const res = await fetch(`${c?.url}/v1/traces/${traceId}`);
  expect(res.status).toBe(200);
  const nodes = new Map<string, Node>();
  const walk = (n: Node) => {
    nodes.set(n.span_id, n);
    n.children.forEach(walk);
  };
  ((await res.json()) as { spans: Node[] }).spans.forEach(walk);
  return nodes;
}

/** A request: the bad span (customer bad) and a good Anthropic call of customer good (1000 in / 500 out: 1.05¢). */
function request(n: number, bad: Attrs) {
  return jsonRequest([
    {
      traceId: traceIdOf(n),
      spanId: spanIdOf(1),
      startTimeUnixNano: START_NS,
      attributes: { 'customer.id': 'bad', ...bad },
    },
    {
      traceId: traceIdOf(n + 500),
      spanId: spanIdOf(2),
      startTimeUnixNano: START_NS,
      attributes: {
        'customer.id': 'good',
        ...SONNET,
        'gen_ai.usage.input_tokens': 1000,
        'gen_ai.usage.output_tokens': 500,
      },
    },
  ]);
}

async function ingest(body: Record<string, unknown>, encoding: 'json' | 'protobuf'): Promise<number> {
  const res = await (encoding === 'json'
    ? post(`${c?.url}/v1/traces`, body)
    : post(`${c?.url}/v1/traces`, protobufRequest(body), { headers: { 'content-type': 'application/x-protobuf' } }));
  await res.arrayBuffer();
  return res.status;
}

describe.each(['json', 'protobuf'] as const)('OTLP/%s: one span with bad usage', (encoding) => {
  it('never fails the request: the good span is priced, the bad one unpriced with its reason', async () => {
    c = await startTestCollector();
    for (const [i, [, attrs]] of MALFORMED.entries()) expect(await ingest(request(i, attrs), encoding)).toBe(200);
    for (const [i, [what, , reason]] of MALFORMED.entries()) {
      const good = (await trace(traceIdOf(i + 500))).get(spanIdOf(2));
      expect(good, what).toMatchObject({ customer_id: 'good', cost_exact: '1.05', cost_source: 'inferred' });
      const bad = (await trace(traceIdOf(i))).get(spanIdOf(1));
      expect([bad?.customer_id, bad?.cost_exact, bad?.cost_source], what).toEqual(['bad', null, 'unpriced']);
      expect(bad?.attributes['_cost.unpriced_reason'], what).toMatch(reason);
    }
    const unpriced = await fetch(`${c.url}/v1/prices/unpriced?start_date=${DAY}&end_date=${DAY}`);
    const items = ((await unpriced.json()) as { items: Array<{ spans: number; reason: string | null }> }).items;
    expect(items.reduce((n, i) => n + i.spans, 0)).toBe(MALFORMED.length);
    for (const item of items) expect(MALFORMED.some(([, , reason]) => reason.test(item.reason ?? ''))).toBe(true);
  });
});

describe('re-pricing a span the bundled table reads in its own way', () => {
  it('succeeds after the book that priced it stops doing so, and prices it as ingest would have', async () => {
    const book = {
      models: [{ model: 'claude-sonnet-4', match: 'prefix', input_usd_per_mtok: '1', output_usd_per_mtok: '1' }],
    };
    c = await startTestCollector();
    expect((await put(`${c?.url}/v1/prices`, book)).status).toBe(200);
    // OpenLLMetry's Anthropic span: input_tokens without the cache (the shape that once failed the whole request).
    const openllmetry = {
      ...SONNET,
      'gen_ai.usage.input_tokens': 40,
      'gen_ai.usage.output_tokens': 250,
      'gen_ai.usage.cache_creation.input_tokens': 1200,
      'gen_ai.usage.cache_read.input_tokens': 3000,
    };
    const plain = jsonRequest([
      { traceId: traceIdOf(1), spanId: spanIdOf(1), startTimeUnixNano: START_NS, attributes: openllmetry },
    ]);
    const body = JSON.parse(JSON.stringify(plain).replace('"test-scope"', '"@traceloop/instrumentation-anthropic"'));
    expect(await ingest(body, 'protobuf')).toBe(200);
    // The book: 4,490 tokens at $1/Mtok = 0.449¢.
    expect((await trace(traceIdOf(1))).get(spanIdOf(1))).toMatchObject({ cost_exact: '0.449', cost_source: 'priced' });
    expect((await put(`${c?.url}/v1/prices`, { models: [] })).status).toBe(200);
    const reprice = () => post(`${c?.url}/v1/prices/reprice`, { start_date: DAY, end_date: DAY });
    const first = await reprice();
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ records: 1, changed: 1 });
    // Anthropic's prices: 40 × $3 + 1200 × $3.75 + 3000 × $0.30 + 250 × $15 per Mtok = $0.00927.
    expect((await trace(traceIdOf(1))).get(spanIdOf(1))).toMatchObject({
      cost_exact: '0.927',
      cost_source: 'inferred',
    });
    expect(await (await reprice()).json()).toMatchObject({ records: 1, changed: 0 });
    expect((await fetch(`${c.url}/readyz`)).status).toBe(200);
  });
});

describe('re-pricing reads a stored span as ingest did', () => {
  it('keeps the AI SDK cache detail, the Langfuse usage and the duplicate mark (nothing changes)', async () => {
    c = await startTestCollector();
    const aiSdk = {
      'gen_ai.system': 'anthropic.messages',
      'gen_ai.request.model': 'claude-sonnet-4-20250514',
      'gen_ai.usage.input_tokens': 4240,
      'gen_ai.usage.output_tokens': 250,
      'ai.usage.inputTokenDetails.cacheReadTokens': 3000,
      'ai.usage.inputTokenDetails.cacheWriteTokens': 1200,
      'ai.usage.inputTokenDetails.noCacheTokens': 40,
    };
    const langfuse = {
      'langfuse.observation.type': 'generation',
      'langfuse.observation.model.name': 'claude-sonnet-4-20250514',
      'langfuse.observation.usage_details': JSON.stringify({
        input: 40,
        output: 250,
        cache_read_input_tokens: 3000,
        cache_creation_input_tokens: 1200,
      }),
    };
    const t = traceIdOf(7);
    const body = jsonRequest([
      { traceId: t, spanId: spanIdOf(1), startTimeUnixNano: START_NS, attributes: { 'customer.id': 'c', ...aiSdk } },
      { traceId: t, spanId: spanIdOf(2), startTimeUnixNano: START_NS, attributes: langfuse },
      // One call described twice: a parent without usage over a child with it (counted on the child).
      {
        traceId: t,
        spanId: spanIdOf(3),
        startTimeUnixNano: START_NS,
        attributes: { ...SONNET, 'gen_ai.operation.name': 'chat' },
      },
      { traceId: t, spanId: spanIdOf(4), parentSpanId: spanIdOf(3), startTimeUnixNano: START_NS, attributes: aiSdk },
    ]);
    expect(await ingest(body, 'json')).toBe(200);
    const before = await trace(t);
    expect([1, 2, 3, 4].map((n) => before.get(spanIdOf(n))?.cost_exact)).toEqual(['0.927', '0.927', null, '0.927']);
    expect(before.get(spanIdOf(3))?.attributes['_cost.duplicate_of']).toBe(spanIdOf(4));
    const res = await post(`${c.url}/v1/prices/reprice`, { start_date: DAY, end_date: DAY });
    expect(await res.json()).toMatchObject({ records: 4, changed: 0 });
    expect(await trace(t)).toEqual(before);
  });

  it('keeps what the readings need beyond the cap on kept attributes (a long prompt before the usage)', async () => {
    c = await startTestCollector();
    const prompt = Object.fromEntries(
      Array.from({ length: 70 }, (_, i) => [`gen_ai.prompt.${i}.content`, `message ${i}`]),
    );
    const attributes = { ...prompt, ...SONNET, 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 500 };
    const t = traceIdOf(8);
    const body = jsonRequest([{ traceId: t, spanId: spanIdOf(1), startTimeUnixNano: START_NS, attributes }]);
    expect(await ingest(body, 'protobuf')).toBe(200);
    const before = await trace(t);
    expect(before.get(spanIdOf(1))).toMatchObject({ cost_exact: '1.05', cost_source: 'inferred' });
    expect(before.get(spanIdOf(1))?.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 1000 });
    const res = await post(`${c.url}/v1/prices/reprice`, { start_date: DAY, end_date: DAY });
    expect(await res.json()).toMatchObject({ records: 1, changed: 0 });
  });
});

describe('spans that try to confuse the readings', () => {
  it.each(['json', 'protobuf'] as const)(
    'are stored like any other (%s): provider names of Object members, a client-sent duplicate mark',
    async (encoding) => {
      c = await startTestCollector();
      const usage = {
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.usage.input_tokens': 1000,
        'gen_ai.usage.output_tokens': 100,
      };
      const vendors = ['constructor', '__proto__', 'constructor.chat', 'toString', 'hasOwnProperty.x'];
      // Padded past 64 KB so the request is decoded on a worker thread too (its reply must be cloneable).
      const pad = { 'gen_ai.prompt.0.content': 'x'.repeat(70_000) };
      const spans: SpanSpec[] = vendors.map((vendor, i) => ({
        traceId: traceIdOf(20 + i),
        spanId: spanIdOf(1),
        startTimeUnixNano: START_NS,
        attributes: { 'gen_ai.system': vendor, ...usage, ...(i === 0 ? pad : {}) },
      }));
      spans.push({
        traceId: traceIdOf(40),
        spanId: spanIdOf(1),
        startTimeUnixNano: START_NS,
        attributes: {
          '_cost.duplicate_of': 'ffffffffffffffff',
          '_cost.input_excludes_cache': true,
          ...SONNET,
          'gen_ai.usage.input_tokens': 1000,
          'gen_ai.usage.output_tokens': 500,
        },
      });
      expect(await ingest(jsonRequest(spans), encoding)).toBe(200);
      for (const [i, vendor] of vendors.entries()) {
        const node = (await trace(traceIdOf(20 + i))).get(spanIdOf(1));
        // gpt-4o-mini by name: 1000 × $0.15 + 100 × $0.60 per Mtok = 0.021¢.
        expect([node?.cost_exact, node?.attributes['gen_ai.system']], vendor).toEqual(['0.021', vendor]);
      }
      const marked = (await trace(traceIdOf(40))).get(spanIdOf(1));
      expect(marked).toMatchObject({ cost_exact: '1.05', cost_source: 'inferred' });
    },
  );
});
