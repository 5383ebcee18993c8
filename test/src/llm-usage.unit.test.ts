/**
 * How each producer's usage is read (src/llm-usage.ts), its provider named (src/genai.ts) and its call told apart —
 * one table per question, from the attribute shapes the producers were seen to emit (test/e2e/producers-*).
 */
import { describe, expect, it } from 'vitest';
import { isLlmCall, modelFamily, normalizeProvider } from '../../src/genai.ts';
import { readUsage, type TokenUsage } from '../../src/llm-usage.ts';
import { formatPicocents } from '../../src/money.ts';
import { readLlmCall } from '../../src/pricing.ts';

const getter = (attributes: Record<string, unknown>) => (k: string) => attributes[k];
const usage = (uncached: number, read: number, write: number, output: number, reasoning = 0): TokenUsage => ({
  uncachedInputTokens: uncached,
  cacheReadTokens: read,
  cacheWriteTokens: write,
  outputTokens: output,
  reasoningTokens: reasoning,
});

describe('token usage, read the way each producer means it', () => {
  const cases: Array<[string, Record<string, unknown>, string, TokenUsage]> = [
    [
      "the Anthropic SDK's own span: input includes the cache",
      {
        'gen_ai.usage.input_tokens': 4240,
        'gen_ai.usage.output_tokens': 250,
        'gen_ai.usage.cache_write.input_tokens': 1200,
        'gen_ai.usage.cache_read.input_tokens': 3000,
      },
      'com.anthropic.sdk.typescript',
      usage(40, 3000, 1200, 250),
    ],
    [
      "OpenLLMetry's Anthropic span: input excludes the cache, even when the cache is smaller than it",
      {
        'gen_ai.usage.input_tokens': 2000,
        'gen_ai.usage.output_tokens': 400,
        'gen_ai.usage.cache_creation.input_tokens': 100,
        'gen_ai.usage.cache_read.input_tokens': 500,
      },
      '@traceloop/instrumentation-anthropic',
      usage(2000, 500, 100, 400),
    ],
    [
      'an unknown producer whose cache exceeds its input: the input is the uncached part',
      { 'gen_ai.usage.input_tokens': 40, 'gen_ai.usage.cache_read.input_tokens': 3000 },
      'someone-else',
      usage(40, 3000, 0, 0),
    ],
    [
      'an AI SDK provider-call span: cache detail in ai.usage.*, input includes it, reasoning is part of output',
      {
        'gen_ai.usage.input_tokens': 3000,
        'gen_ai.usage.output_tokens': 700,
        'ai.usage.inputTokenDetails.cacheReadTokens': 2048,
        'ai.usage.outputTokenDetails.reasoningTokens': 512,
      },
      'ai',
      usage(952, 2048, 0, 700, 512),
    ],
    [
      'OpenInference: llm.token_count.* with prompt details',
      {
        'llm.token_count.prompt': 2000,
        'llm.token_count.completion': 400,
        'llm.token_count.prompt_details.cache_read': 1536,
        'llm.token_count.completion_details.reasoning': 0,
      },
      '@arizeai/openinference-instrumentation-openai',
      usage(464, 1536, 0, 400),
    ],
    [
      'Langfuse usage_details: keys add up (input excludes the cache, reasoning is its own key)',
      {
        'langfuse.observation.usage_details': JSON.stringify({
          input: 40,
          output: 250,
          output_reasoning_tokens: 50,
          cache_read_input_tokens: 3000,
          cache_creation_input_tokens: 1200,
        }),
      },
      'langfuse-sdk',
      usage(40, 3000, 1200, 300, 50),
    ],
    [
      'int64 counts as bigints and numeric strings',
      { 'gen_ai.usage.input_tokens': 10n, 'gen_ai.usage.output_tokens': '5' },
      '',
      usage(10, 0, 0, 5),
    ],
  ];
  it.each(cases)('%s', (_what, attributes, scope, expected) => {
    expect(readUsage(getter(attributes), scope)).toMatchObject({ kind: 'usage', usage: expected });
  });

  it("reads the AI SDK's ai.usage.* only beside gen_ai.usage.* (its wrapper span repeats the call's totals)", () => {
    const wrapper = { 'ai.usage.inputTokens': 4240, 'ai.usage.cachedInputTokens': 3000, 'ai.model.id': 'x' };
    expect(readUsage(getter(wrapper))).toEqual({ kind: 'none' });
    expect(readLlmCall(getter(wrapper))).toEqual({ kind: 'none' });
  });

  it.each([
    [{ 'gen_ai.usage.input_tokens': -1 }, /input_tokens is -1/],
    [{ 'gen_ai.usage.output_tokens': 1e13 }, /output_tokens is 10000000000000/],
    [{ 'gen_ai.usage.input_tokens': 'many' }, /input_tokens is "many"/],
    [{ 'gen_ai.usage.input_tokens': Number.NaN }, /input_tokens is NaN/],
    [{ 'langfuse.observation.usage_details': '[1]' }, /not a JSON object/],
    [{ 'langfuse.observation.usage_details': '{"input":-3}' }, /usage_details.input is -3/],
  ])('refuses unusable counts with a reason: %o', (attributes, reason) => {
    const reading = readUsage(getter(attributes));
    expect(reading.kind).toBe('invalid');
    expect(reading.kind === 'invalid' ? reading.reason : '').toMatch(reason);
  });
});

describe('what an LLM call is', () => {
  it.each([
    [{ 'gen_ai.request.model': 'gpt-4o' }, true],
    [{ 'gen_ai.operation.name': 'chat' }, true],
    [{ 'gen_ai.system': 'openai' }, true],
    [{ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.request.model': 'gpt-4o' }, false],
    [{ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.request.model': 'gpt-4o' }, false],
    [{ 'openinference.span.kind': 'CHAIN', 'llm.model_name': 'gpt-4o' }, false],
    [{ 'openinference.span.kind': 'LLM' }, true],
    [{ 'langfuse.observation.type': 'span' }, false],
    [{ 'langfuse.observation.type': 'generation' }, true],
    [{ 'ai.model.id': 'gpt-4o', 'ai.usage.inputTokens': 3 }, false],
    [{ 'http.request.method': 'POST' }, false],
  ])('%o → %s', (attributes, expected) => {
    expect(isLlmCall(getter(attributes))).toBe(expected);
  });

  it.each([
    [{ 'gen_ai.operation.name': 'invoke_agent' }],
    [{ 'openinference.span.kind': 'CHAIN' }],
    [{ 'langfuse.observation.type': 'span' }],
  ])('does not price a span its producer says sums the calls beneath it: %o', (kind) => {
    const call = readLlmCall(
      getter({
        ...kind,
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 300,
        'gen_ai.usage.output_tokens': 30,
      }),
    );
    expect(call).toEqual({ kind: 'none' });
  });

  it('reads the AI SDK embedding calls from ai.* alone', () => {
    const call = readLlmCall(
      getter({
        'ai.operationId': 'ai.embed.doEmbed',
        'ai.model.id': 'text-embedding-3-small',
        'ai.model.provider': 'openai.embedding',
        'ai.usage.tokens': 12,
      }),
    );
    expect(call).toMatchObject({
      kind: 'usage',
      usage: { vendor: 'openai', models: ['text-embedding-3-small'], inputTokens: 12 },
    });
  });

  it('flags an LLM call without usage as unusable, but not a failed one', () => {
    expect(readLlmCall(getter({ 'gen_ai.request.model': 'gpt-4o' }))).toEqual({
      kind: 'unusable',
      reason: 'no token usage on the LLM span',
    });
    expect(readLlmCall(getter({ 'gen_ai.request.model': 'gpt-4o', 'error.type': '429' }))).toEqual({ kind: 'none' });
  });

  it.each([
    [{ 'gen_ai.usage.cost': 0.0123 }, '1.23'],
    [{ 'gen_ai.usage.cost.amount': '0.000000000001', 'gen_ai.usage.cost.currency': 'USD' }, '0.0000000001'],
    [{ 'llm.cost.total': 2 }, '200'],
    [{ 'langfuse.observation.cost_details': '{"input":0.003,"output":0.0075,"total":0.0105}' }, '1.05'],
    [{ 'langfuse.observation.cost_details': '{"input":0.1,"output":0.2}' }, '30'],
  ])('reads a reported USD cost exactly, in cents: %o', (attributes, cents) => {
    const call = readLlmCall(getter({ 'gen_ai.request.model': 'gpt-4o', ...attributes }));
    const picocents = call.kind === 'usage' ? call.usage.reportedCostPicocents : null;
    expect(picocents === null ? null : formatPicocents(picocents)).toBe(cents);
  });

  it('ignores a draft cost in another currency (priced from usage instead)', () => {
    const call = readLlmCall(getter({ 'gen_ai.usage.cost.amount': 5, 'gen_ai.usage.cost.currency': 'EUR' }));
    expect(call).toEqual({ kind: 'none' });
  });
});

describe('one name per provider', () => {
  it.each([
    ['openai', 'openai'],
    ['OpenAI', 'openai'],
    ['openai.chat', 'openai'],
    ['openai.responses', 'openai'],
    ['anthropic.messages', 'anthropic'],
    ['google.generative-ai', 'gcp.gemini'],
    ['google.vertex.chat', 'gcp.vertex_ai'],
    ['amazon-bedrock', 'aws.bedrock'],
    ['mistral.chat', 'mistral_ai'],
    ['xai.chat', 'x_ai'],
    ['azure.ai.openai', 'azure.ai.openai'],
    ['aws.bedrock', 'aws.bedrock'],
    ['my-own-gateway', 'my-own-gateway'],
  ])('%s → %s', (raw, name) => {
    expect(normalizeProvider(raw)).toBe(name);
  });

  it.each([
    ['claude-3-5-haiku-20241022', 'claude-3-5-haiku'],
    ['claude-3-5-haiku-latest', 'claude-3-5-haiku'],
    ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
    ['anthropic/claude-sonnet-4', 'claude-sonnet-4'],
    ['o4-mini', 'o4-mini'],
  ])('model %s is of the family %s', (model, family) => {
    expect(modelFamily(model)).toBe(family);
  });
});
