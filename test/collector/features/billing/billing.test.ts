/**
 * The billing bridge's pure parts: minor units of any currency to USD picocents (zero- and three-decimal
 * currencies, FX by day, no rate → refused), an outbox row as a Polar event (exact decimal `_cost`, `_llm` from
 * event metadata or GenAI attributes of either generation, names cut to Polar's 128 characters, never a future
 * timestamp), and `Retry-After` in both of its forms.
 */
import { describe, expect, it } from 'vitest';
import { minorToUsdPicocents } from '../../../../collector/features/billing/currency.ts';
import { retryAfterMs } from '../../../../collector/features/billing/forwarder.ts';
import type { OutboxRow } from '../../../../collector/features/billing/outbox.ts';
import { polarEvent } from '../../../../collector/features/billing/polar-event.ts';
import { parsePriceBook } from '../../../../collector/features/prices/book.ts';

const P = 10n ** 12n;
const micros = (iso: string) => BigInt(Date.parse(iso)) * 1000n;

describe('billing amounts', () => {
  const parsed = parsePriceBook({
    fx: [
      { currency: 'EUR', date: '2026-03-01', usd_per_unit: '1.1' },
      { currency: 'JPY', date: '2026-03-01', usd_per_unit: '0.0067' },
      { currency: 'KWD', date: '2026-03-01', usd_per_unit: '3.25' },
    ],
  });
  if (!parsed.ok) throw new Error('book');
  const fx = parsed.book.fx;
  const at = micros('2026-03-05T10:00:00Z');

  it('reads USD cents as they are and converts other currencies exactly, by their minor unit', () => {
    expect(minorToUsdPicocents(4900n, 'usd', at, fx)).toEqual({ ok: true, usdPicocents: 4900n * P, original: null });
    // 10.00 EUR = 1000 cents of EUR → 1100 US cents
    expect(minorToUsdPicocents(1000n, 'eur', at, fx)).toMatchObject({ ok: true, usdPicocents: 1100n * P });
    // ¥1,000 (no minor unit) = 6.70 USD = 670 cents
    expect(minorToUsdPicocents(1000n, 'JPY', at, fx)).toMatchObject({
      ok: true,
      usdPicocents: 670n * P,
      original: { original_amount_minor: '1000', original_currency: 'JPY' },
    });
    // 1.000 KWD (three decimals: 1000 fils) = 3.25 USD = 325 cents
    expect(minorToUsdPicocents(1000n, 'KWD', at, fx)).toMatchObject({ ok: true, usdPicocents: 325n * P });
    // negative (refunds) convert the same way
    expect(minorToUsdPicocents(-500n, 'EUR', at, fx)).toMatchObject({ ok: true, usdPicocents: -550n * P });
  });

  it('refuses a currency without a rate on or before the day, and a code that is not one', () => {
    expect(minorToUsdPicocents(1000n, 'EUR', micros('2026-02-28T23:59:59Z'), fx)).toEqual({
      ok: false,
      reason: 'no EUR rate on or before 2026-02-28 in the price book; add an fx rate to the price book',
    });
    expect(minorToUsdPicocents(1000n, 'GBP', at, fx)).toMatchObject({ ok: false });
    expect(minorToUsdPicocents(1000n, 'euro', at, fx)).toEqual({
      ok: false,
      reason: '"euro" is not an ISO 4217 currency code',
    });
  });
});

describe('a Polar event from an outbox row', () => {
  const row = (over: Partial<OutboxRow>): OutboxRow => ({
    externalId: 'a'.repeat(32) + ':' + 'b'.repeat(16),
    customerId: 'acme',
    name: 'chat',
    tsMicros: micros('2026-03-05T10:00:00.123456Z'),
    costPicocents: 1_234_567_890_123n,
    llmVendor: null,
    llmModel: null,
    attributesJson: '{}',
    ...over,
  });
  const now = Date.parse('2026-03-06T00:00:00Z');

  it('carries the exact cost as a decimal string and the time at ms precision', () => {
    expect(polarEvent(row({}), now)).toEqual({
      name: 'chat',
      external_customer_id: 'acme',
      external_id: `${'a'.repeat(32)}:${'b'.repeat(16)}`,
      timestamp: '2026-03-05T10:00:00.123Z',
      metadata: { _cost: { amount: '1.234567890123', currency: 'usd' } },
    });
    expect(polarEvent(row({ costPicocents: -5n * P }), now).metadata._cost).toEqual({ amount: '-5', currency: 'usd' });
  });

  it('adds _llm from GenAI attributes (current or older names) or event metadata, only when complete', () => {
    const llm = { llmVendor: 'openai', llmModel: 'gpt-4o' };
    expect(
      polarEvent(
        row({
          ...llm,
          attributesJson: JSON.stringify({
            'gen_ai.usage.input_tokens': 1000,
            'gen_ai.usage.output_tokens': '250',
            'gen_ai.usage.cache_read.input_tokens': 400,
          }),
        }),
        now,
      ).metadata._llm,
    ).toEqual({
      vendor: 'openai',
      model: 'gpt-4o',
      input_tokens: 1000,
      output_tokens: 250,
      total_tokens: 1250,
      cached_input_tokens: 400,
    });
    expect(
      polarEvent(
        row({
          ...llm,
          attributesJson: JSON.stringify({ 'gen_ai.usage.prompt_tokens': 7, 'gen_ai.usage.completion_tokens': 3 }),
        }),
        now,
      ).metadata._llm,
    ).toMatchObject({ input_tokens: 7, output_tokens: 3, total_tokens: 10 });
    expect(
      polarEvent(
        row({
          ...llm,
          attributesJson: JSON.stringify({
            _llm: { vendor: 'openai', model: 'gpt-4o', input_tokens: 9, output_tokens: 1, total_tokens: 12 },
          }),
        }),
        now,
      ).metadata._llm,
    ).toMatchObject({ input_tokens: 9, output_tokens: 1, total_tokens: 12 });
    // Input only (an embeddings call): no output tokens, counted as 0 — the same reading pricing uses.
    expect(
      polarEvent(row({ ...llm, attributesJson: JSON.stringify({ 'gen_ai.usage.input_tokens': 5 }) }), now).metadata
        ._llm,
    ).toEqual({ vendor: 'openai', model: 'gpt-4o', input_tokens: 5, output_tokens: 0, total_tokens: 5 });
    // Each producer's reading: OpenInference counts, AI SDK cache detail, Langfuse usage_details (input excludes cache).
    const llmOf = (attributes: Record<string, unknown>) =>
      polarEvent(row({ ...llm, attributesJson: JSON.stringify(attributes) }), now).metadata._llm;
    expect(
      llmOf({
        'llm.token_count.prompt': 2000,
        'llm.token_count.completion': 400,
        'llm.token_count.prompt_details.cache_read': 1536,
      }),
    ).toEqual({
      vendor: 'openai',
      model: 'gpt-4o',
      input_tokens: 2000,
      output_tokens: 400,
      total_tokens: 2400,
      cached_input_tokens: 1536,
    });
    expect(
      llmOf({
        'gen_ai.usage.input_tokens': 4240,
        'gen_ai.usage.output_tokens': 250,
        'ai.usage.inputTokenDetails.cacheReadTokens': 3000,
        'ai.usage.inputTokenDetails.cacheWriteTokens': 1200,
      }),
    ).toEqual({
      vendor: 'openai',
      model: 'gpt-4o',
      input_tokens: 4240,
      output_tokens: 250,
      total_tokens: 4490,
      cached_input_tokens: 3000,
    });
    expect(
      llmOf({
        'langfuse.observation.usage_details': JSON.stringify({
          input: 40,
          output: 250,
          cache_read_input_tokens: 3000,
          cache_creation_input_tokens: 1200,
        }),
      }),
    ).toEqual({
      vendor: 'openai',
      model: 'gpt-4o',
      input_tokens: 4240,
      output_tokens: 250,
      total_tokens: 4490,
      cached_input_tokens: 3000,
    });
    expect(
      polarEvent(
        row({ attributesJson: JSON.stringify({ 'gen_ai.usage.input_tokens': 5, 'gen_ai.usage.output_tokens': 1 }) }),
        now,
      ).metadata,
    ).not.toHaveProperty('_llm');
  });

  it("cuts names to Polar's 128 characters and never sends a future time", () => {
    const e = polarEvent(row({ name: 'x'.repeat(300), tsMicros: micros('2026-03-07T00:00:00Z') }), now);
    expect(e.name).toHaveLength(128);
    expect(e.timestamp).toBe(new Date(now).toISOString());
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates, capped at a minute; ignores what it cannot read', () => {
    const now = Date.parse('2026-03-05T10:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs('Thu, 05 Mar 2026 10:00:20 GMT', now)).toBe(20_000);
    expect(retryAfterMs('3600', now)).toBe(60_000);
    expect(retryAfterMs('Thu, 05 Mar 2026 09:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs(null, now)).toBeNull();
  });
});
