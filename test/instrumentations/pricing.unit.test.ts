import { calcPrice } from '@pydantic/genai-prices';
import { describe, expect, it } from 'vitest';
import { formatPicocents } from '../../src/money.ts';
import { priceLlmUsage, usageFromAttributes } from '../../src/pricing.ts';

const AT = new Date('2026-01-01T00:00:00Z');
const price = (attrs: Record<string, unknown>) => {
  const usage = usageFromAttributes((k) => attrs[k]);
  if (usage === null) return 'no usage';
  const p = priceLlmUsage(usage, AT);
  return p.kind === 'priced' ? `${formatPicocents(p.picocents)} (${p.source})` : `unpriced: ${p.reason}`;
};
/** Independent expectation: genai-prices' own USD figure, in cents. */
const cents = (usage: Record<string, number>, model: string, providerId: string) =>
  Number(((calcPrice(usage, model, { providerId, timestamp: AT })?.total_price ?? Number.NaN) * 100).toPrecision(12));

describe('LLM usage → cost', () => {
  it('prices semconv usage with cached input once, at the cache rate', () => {
    const expected = cents({ input_tokens: 1200, output_tokens: 300, cache_read_tokens: 200 }, 'gpt-4o', 'openai');
    expect(expected).toBeCloseTo(((1000 * 2.5 + 200 * 1.25 + 300 * 10) / 1e6) * 100, 10);
    expect(
      price({
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 1200,
        'gen_ai.usage.output_tokens': 300,
        'gen_ai.usage.cache_read.input_tokens': 200,
        'gen_ai.usage.reasoning.output_tokens': 100,
      }),
    ).toBe(`${expected} (price_table)`);
  });

  it.each([
    [
      'deprecated semconv',
      {
        'gen_ai.system': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.prompt_tokens': 1000,
        'gen_ai.usage.completion_tokens': 500,
      },
    ],
    [
      'Traceloop legacy (capitalised vendor)',
      {
        'gen_ai.system': 'OpenAI',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.prompt_tokens': 1000,
        'gen_ai.usage.completion_tokens': 500,
      },
    ],
    [
      'OpenInference',
      {
        'llm.provider': 'openai',
        'llm.model_name': 'gpt-4o',
        'llm.token_count.prompt': 1000,
        'llm.token_count.completion': 500,
      },
    ],
    [
      'token counts as strings',
      {
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': '1000',
        'gen_ai.usage.output_tokens': '500',
      },
    ],
  ])('reads %s', (_name, attrs) => {
    expect(price(attrs)).toBe(`${cents({ input_tokens: 1000, output_tokens: 500 }, 'gpt-4o', 'openai')} (price_table)`);
  });

  it('prices Anthropic with cache reads and writes at their rates', () => {
    const expected = cents(
      { input_tokens: 1500, output_tokens: 250, cache_read_tokens: 400, cache_write_tokens: 100 },
      'claude-sonnet-4-6',
      'anthropic',
    );
    expect(
      price({
        'gen_ai.provider.name': 'anthropic',
        'gen_ai.response.model': 'claude-sonnet-4-6',
        'gen_ai.usage.input_tokens': 1500,
        'gen_ai.usage.output_tokens': 250,
        'gen_ai.usage.cache_read.input_tokens': 400,
        'gen_ai.usage.cache_creation.input_tokens': 100,
      }),
    ).toBe(`${expected} (price_table)`);
  });

  it('falls back from an unknown response snapshot to the requested model', () => {
    expect(
      price({
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.response.model': 'gpt-4o-2099-01-01',
        'gen_ai.usage.input_tokens': 1000,
        'gen_ai.usage.output_tokens': 500,
      }),
    ).toBe(`${cents({ input_tokens: 1000, output_tokens: 500 }, 'gpt-4o', 'openai')} (price_table)`);
  });

  it('lets a reported cost win (USD → cents)', () => {
    expect(price({ 'llm.model_name': 'gpt-4o', 'llm.token_count.prompt': 10, 'llm.cost.total': 0.0123 })).toBe(
      '1.23 (reported)',
    );
  });

  it('marks an unknown model unpriced, never $0', () => {
    expect(
      price({
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'my-finetune-xyz',
        'gen_ai.usage.input_tokens': 10,
      }),
    ).toBe('unpriced: no price for model "my-finetune-xyz"');
    expect(price({ 'gen_ai.usage.input_tokens': 10 })).toBe('unpriced: no model name on the span');
  });

  it('ignores spans without usage', () => {
    expect(price({ 'gen_ai.request.model': 'gpt-4o' })).toBe('no usage');
  });
});
