/**
 * Spans from the real OpenAI-side GenAI producers — OpenTelemetry's instrumentation-openai, OpenLLMetry,
 * OpenInference and the Vercel AI SDK's own telemetry (chat completions and Responses API) — each run in a child
 * Node process against a fake api.openai.com and exported with the official OTLP exporter to a real collector.
 * Every call must cost exactly what OpenAI bills (computed here from the public prices, exact decimals), on one
 * span only, for the call's customer, under the single vendor `openai`; a call whose spans carry a model but no
 * usage is flagged unpriced, never a silent $0.
 */
import { calcPrice } from '@pydantic/genai-prices';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../helpers/collector.ts';
import { type FakeOpenAI, type FakeUsage, SNAPSHOTS, startFakeOpenAI } from '../helpers/fake-openai.ts';
import {
  flatten,
  type Producer,
  type ProducerCall,
  PUBLIC_PRICES,
  publicCostCents,
  readTrace,
  readUnpriced,
  readVendorDrivers,
  runProducer,
} from '../helpers/openai-producers.ts';

interface Call {
  /** What the test proves, as its name. */
  readonly behaviour: string;
  readonly api: ProducerCall['api'];
  readonly model: string;
  readonly stream: boolean;
  readonly includeUsage?: boolean;
  /** What the fake OpenAI answers with. */
  readonly usage: FakeUsage;
  /** The spans the producer emits for the call (besides the app's root span). */
  readonly spans: readonly string[];
  /** False when the producer records no usage for the call: it must be flagged unpriced. */
  readonly usageOnSpan: boolean;
  /** Whether the producer puts the cached-token count on its span. */
  readonly cacheOnSpan: boolean;
}

const PLAIN: FakeUsage = { input: 1200, output: 300 };
const CACHED: FakeUsage = { input: 2000, cached: 1536, output: 400 };
const REASONING: FakeUsage = { input: 800, output: 1500, reasoning: 1024 };
const STREAMED: FakeUsage = { input: 900, output: 120 };
const STREAMED_DETAILED: FakeUsage = { input: 3000, cached: 2048, output: 700, reasoning: 512 };

/**
 * The calls through the `openai` SDK: chat completions (plain, cached, reasoning, a stream asking for usage, one
 * not asking) or the Responses API (plain, cached, reasoning, a stream: usage comes in `response.completed`).
 * `span` names the producer's span; `streamUsage` says whether the producer records a stream's usage.
 */
function sdkCalls(
  api: Call['api'],
  span: (model: string) => string,
  streamUsage: boolean,
  cacheOnSpan: boolean,
): Call[] {
  const call = (behaviour: string, model: string, usage: FakeUsage, stream?: 'usage' | 'no usage'): Call => ({
    behaviour,
    api,
    model,
    stream: stream !== undefined,
    ...(api === 'chat' && stream ? { includeUsage: stream === 'usage' } : {}),
    usage,
    spans: [span(model)],
    usageOnSpan: stream === undefined || (stream === 'usage' && streamUsage),
    cacheOnSpan,
  });
  const what = api === 'chat' ? 'completion' : 'response';
  return [
    call(`a plain gpt-4o-mini ${what}`, 'gpt-4o-mini', PLAIN),
    call(`a gpt-4o ${what} with cached input tokens`, 'gpt-4o', CACHED),
    call(`an o4-mini ${what} with reasoning tokens`, 'o4-mini', REASONING),
    call(api === 'chat' ? 'a stream with include_usage' : 'a streamed response', 'gpt-4o-mini', STREAMED, 'usage'),
    ...(api === 'chat' ? [call('a stream without include_usage', 'gpt-4o-mini', STREAMED, 'no usage')] : []),
  ];
}

/** The AI SDK's generateText / streamText over one of its OpenAI models: a wrapper span and a provider-call span. */
function aiSdkCalls(api: Call['api']): Call[] {
  const generate = ['ai.generateText', 'ai.generateText.doGenerate'];
  const stream = ['ai.streamText', 'ai.streamText.doStream'];
  const call = (behaviour: string, model: string, streamed: boolean, usage: FakeUsage): Call => ({
    behaviour,
    api,
    model,
    stream: streamed,
    usage,
    spans: streamed ? stream : generate,
    usageOnSpan: true,
    cacheOnSpan: true,
  });
  return [
    call('generateText, plain gpt-4o-mini', 'gpt-4o-mini', false, PLAIN),
    call('generateText, gpt-4o with cached input tokens', 'gpt-4o', false, CACHED),
    call('generateText, o4-mini with reasoning tokens', 'o4-mini', false, REASONING),
    call('streamText, gpt-4o-mini', 'gpt-4o-mini', true, STREAMED),
    call('streamText, o4-mini with cached and reasoning tokens', 'o4-mini', true, STREAMED_DETAILED),
  ];
}

// OpenTelemetry's instrumentation-openai 0.21.0 and OpenLLMetry 0.27.0 put no cached-token count on their spans
// (only gen_ai.usage.input_tokens/output_tokens), so their cached calls are priced as the span reports them — all
// input at the input rate, above OpenAI's bill by the cache discount (README "GenAI producers": nothing on the span
// tells a collector that tokens were cached); OpenLLMetry and OpenInference 4.2.7 record no usage for chat streams
// (even with include_usage).
const chat = (model: string) => `chat ${model}`;
const PRODUCERS: Array<[string, Producer, Call[]]> = [
  ['OpenTelemetry instrumentation-openai, chat completions', 'otel', sdkCalls('chat', chat, true, false)],
  ['OpenTelemetry instrumentation-openai, Responses API', 'otel', sdkCalls('responses', chat, true, false)],
  ['OpenLLMetry instrumentation-openai, chat completions', 'openllmetry', sdkCalls('chat', chat, false, false)],
  ['OpenLLMetry instrumentation-openai, Responses API', 'openllmetry', sdkCalls('responses', chat, false, false)],
  [
    'OpenInference instrumentation-openai, chat completions',
    'openinference',
    sdkCalls('chat', () => 'OpenAI Chat Completions', false, true),
  ],
  [
    'OpenInference instrumentation-openai, Responses API',
    'openinference',
    sdkCalls('responses', () => 'OpenAI Responses', true, true),
  ],
  ['Vercel AI SDK, openai.chat (chat completions)', 'aisdk', aiSdkCalls('chat')],
  ['Vercel AI SDK, openai.responses (Responses API)', 'aisdk', aiSdkCalls('responses')],
];

let fake: FakeOpenAI;
let c: TestCollector;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(async () => {
  await fake.close();
});

/** Runs the call and returns its trace, after checking the producer really called the fake OpenAI. */
async function traceOf(producer: Producer, call: Call, customer: string) {
  fake.setUsage(call.usage);
  const before = fake.requests.length;
  const traceId = await runProducer(
    {
      producer,
      api: call.api,
      model: call.model,
      stream: call.stream,
      includeUsage: call.includeUsage ?? false,
      customer,
    },
    { openai: fake.url, collector: c.url },
  );
  const sent = fake.requests.slice(before);
  expect(sent.map((r) => [r.path, r.body.model, r.body.stream === true])).toEqual([
    [call.api === 'chat' ? '/v1/chat/completions' : '/v1/responses', call.model, call.stream],
  ]);
  if (call.includeUsage !== undefined) {
    const options = sent[0]?.body.stream_options as { include_usage?: boolean } | undefined;
    expect(options?.include_usage === true).toBe(call.includeUsage);
  }
  const trace = await readTrace(c.url, traceId);
  const spans = flatten(trace.spans);
  expect(spans.map((s) => s.name).sort()).toEqual(['POST /answer', ...call.spans].sort());
  return { trace, spans };
}

describe.each(PRODUCERS)('%s', (_label, producer, calls) => {
  // A collector per call, so cost drivers and unpriced models show that call alone.
  beforeEach(async () => {
    c = await startTestCollector();
  });
  afterEach(async () => {
    await c.close();
  });
  const priced = calls.filter((call) => call.usageOnSpan);
  const unpriced = calls.filter((call) => !call.usageOnSpan);

  it.each(priced.map((call) => [call.behaviour, call] as const))(
    '%s: costs what OpenAI bills, on exactly one span, for the customer, under vendor openai',
    async (_behaviour, call) => {
      const customer = `cust-${producer}-${call.api}-${call.model}-${call.stream ? 'stream' : 'once'}`;
      const billed = publicCostCents(call.model, call.usage);
      // Without a cached count on the span, the call is priced as reported: every input token at the input rate.
      const expected = call.cacheOnSpan ? billed : publicCostCents(call.model, { ...call.usage, cached: 0 });
      if (!call.cacheOnSpan && (call.usage.cached ?? 0) > 0) expect(Number(expected)).toBeGreaterThan(Number(billed));
      const { trace, spans } = await traceOf(producer, call, customer);

      const costed = spans.filter((s) => s.cost !== null || s.cost_source !== null);
      expect(costed.map((s) => [s.name, s.cost_exact, s.cost_source])).toEqual([
        [expect.toBeOneOf([...call.spans]), expected, 'inferred'],
      ]);
      expect(costed[0]?.cost).toBe(Number(expected));
      expect(costed[0]?.customer_id).toBe(customer);
      expect(trace.total_cost_exact).toBe(expected);

      const drivers = await readVendorDrivers(c.url, customer);
      expect(drivers.map((g) => [g.key, g.cost, g.records])).toEqual([['openai', Number(expected), 1]]);
      expect(await readUnpriced(c.url)).toEqual([]);
    },
  );

  if (unpriced.length > 0) {
    it.each(unpriced.map((call) => [call.behaviour, call] as const))(
      '%s: the producer records no usage, so the call is flagged unpriced, never a silent zero',
      async (_behaviour, call) => {
        const customer = `cust-${producer}-${call.api}-unpriced-${call.includeUsage ? 'asked' : 'not-asked'}`;
        const { trace, spans } = await traceOf(producer, call, customer);

        const flagged = spans.filter((s) => s.cost !== null || s.cost_source !== null);
        expect(flagged.map((s) => [s.name, s.cost, s.cost_exact, s.cost_source])).toEqual([
          [call.spans[0], null, null, 'unpriced'],
        ]);
        expect(flagged[0]?.customer_id).toBe(customer);
        expect(trace.total_cost_exact).toBe('0');

        expect(await readUnpriced(c.url)).toEqual([
          expect.objectContaining({ vendor: 'openai', model: expect.stringMatching(/^gpt-4o-mini/), spans: 1 }),
        ]);
      },
    );
  }
});

describe('the bundled price table (@pydantic/genai-prices)', () => {
  it.each(Object.entries(PUBLIC_PRICES))("has OpenAI's public prices for %s and its dated snapshot", (model, price) => {
    for (const id of [model, SNAPSHOTS[model] as string]) {
      const found = calcPrice({ input_tokens: 1 }, id, { providerId: 'openai' });
      expect([found?.model.id, found?.model_price]).toEqual([
        model,
        expect.objectContaining({
          input_mtok: Number(price.input),
          cache_read_mtok: Number(price.cached),
          output_mtok: Number(price.output),
        }),
      ]);
    }
  });
});
