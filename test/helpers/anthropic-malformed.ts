/**
 * One OTLP/JSON request holding a single malformed (or collector-hostile) Anthropic LLM span of one customer next
 * to a good trace of another customer: a request span and the Anthropic SDK's `anthropic.messages.create` span with
 * plain usage (1000 input, 500 output on claude-sonnet-4: 1.05 cents).
 */
import { randomBytes } from 'node:crypto';
import { centsString, expectedPicocents, SONNET_4 } from './anthropic-producers.ts';

type AnyValue = { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };
type Attr = { key: string; value: AnyValue };

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const str = (key: string, v: string): Attr => ({ key, value: { stringValue: v } });
const int = (key: string, v: number | string): Attr => ({ key, value: { intValue: String(v) } });

export interface MalformedCase {
  readonly title: string;
  /** The bad span's instrumentation scope. */
  readonly scope: string;
  /** The bad span's usage attributes (model and provider are added). */
  readonly usage: Attr[];
}

const OPENLLMETRY = '@traceloop/instrumentation-anthropic';
const SDK = 'com.anthropic.sdk.typescript';

export function malformedSpanCases(): MalformedCase[] {
  return [
    {
      title: "OpenLLMetry's Anthropic cache shape (input excludes cache, cache_creation.* names)",
      scope: OPENLLMETRY,
      usage: [
        int('gen_ai.usage.input_tokens', 40),
        int('gen_ai.usage.output_tokens', 250),
        int('gen_ai.usage.cache_creation.input_tokens', 1200),
        int('gen_ai.usage.cache_read.input_tokens', 3000),
        int('gen_ai.usage.total_tokens', 290),
      ],
    },
    {
      title: 'negative usage (-5)',
      scope: OPENLLMETRY,
      usage: [int('gen_ai.usage.input_tokens', -5), int('gen_ai.usage.output_tokens', 10)],
    },
    {
      title: 'usage that is not a number ("abc")',
      scope: OPENLLMETRY,
      usage: [str('gen_ai.usage.input_tokens', 'abc'), str('gen_ai.usage.output_tokens', 'abc')],
    },
    {
      title: 'absurd usage (1e30 as a double)',
      scope: OPENLLMETRY,
      usage: [{ key: 'gen_ai.usage.input_tokens', value: { doubleValue: 1e30 } }, int('gen_ai.usage.output_tokens', 1)],
    },
    {
      title: 'cache reads larger than the total input on an SDK span (-5 uncached)',
      scope: SDK,
      usage: [
        int('gen_ai.usage.input_tokens', 100),
        int('gen_ai.usage.cache_read.input_tokens', 105),
        int('gen_ai.usage.output_tokens', 1),
      ],
    },
  ];
}

export interface MalformedRequest {
  readonly body: unknown;
  readonly goodTraceId: string;
  readonly goodSpanIds: readonly string[];
  readonly goodCustomer: string;
  /** The good LLM span's cost, exact cents. */
  readonly goodCost: string;
}

export function requestWithMalformedSpan(bad: MalformedCase): MalformedRequest {
  const now = BigInt(Date.now()) * 1_000_000n;
  const times = (startMs: number, endMs: number) => ({
    startTimeUnixNano: String(now + BigInt(startMs) * 1_000_000n),
    endTimeUnixNano: String(now + BigInt(endMs) * 1_000_000n),
  });
  const llm = (model: string) => [
    str('gen_ai.provider.name', 'anthropic'),
    str('gen_ai.operation.name', 'chat'),
    str('gen_ai.request.model', model),
    str('gen_ai.response.model', model),
  ];
  const goodCustomer = `good-${hex(4)}`;
  const goodTraceId = hex(16);
  const goodRoot = hex(8);
  const goodLlm = hex(8);
  const badTraceId = hex(16);
  const badRoot = hex(8);
  const badSpans = [
    {
      traceId: badTraceId,
      spanId: badRoot,
      name: 'POST /bad',
      kind: 2,
      ...times(0, 50),
      attributes: [str('customer.id', `bad-${hex(4)}`)],
    },
    {
      traceId: badTraceId,
      spanId: hex(8),
      parentSpanId: badRoot,
      name: `chat ${SONNET_4}`,
      kind: 3,
      ...times(1, 40),
      attributes: [...llm(SONNET_4), ...bad.usage],
    },
  ];
  const goodSpans = [
    {
      traceId: goodTraceId,
      spanId: goodRoot,
      name: 'POST /good',
      kind: 2,
      ...times(0, 60),
      attributes: [str('customer.id', goodCustomer)],
    },
    {
      traceId: goodTraceId,
      spanId: goodLlm,
      parentSpanId: goodRoot,
      name: 'anthropic.messages.create',
      kind: 3,
      ...times(2, 50),
      attributes: [...llm(SONNET_4), int('gen_ai.usage.input_tokens', 1000), int('gen_ai.usage.output_tokens', 500)],
    },
  ];
  return {
    body: {
      resourceSpans: [
        {
          resource: { attributes: [str('service.name', 'malformed-anthropic')] },
          scopeSpans: [
            { scope: { name: bad.scope }, spans: badSpans },
            { scope: { name: SDK, version: '1.14.0' }, spans: goodSpans },
          ],
        },
      ],
    },
    goodTraceId,
    goodSpanIds: [goodRoot, goodLlm],
    goodCustomer,
    goodCost: centsString(expectedPicocents(SONNET_4, { input_tokens: 1000, output_tokens: 500 })),
  };
}
