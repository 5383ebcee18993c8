/**
 * Pricing one span with the book: each kind of entry, effective-date boundaries (a span exactly at `from`),
 * tiers, cache rates, first match wins, exact picocents with half-even rounding.
 */
import { describe, expect, it } from 'vitest';
import { type PriceBook, parsePriceBook } from '../../../../collector/features/prices/book.ts';
import { divideHalfEven, priceSpan, type SpanToPrice } from '../../../../collector/features/prices/price-span.ts';
import { usageFromAttributes } from '../../../../src/pricing.ts';

function book(json: unknown): PriceBook {
  const r = parsePriceBook(json);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.book;
}

const at = (iso: string) => BigInt(Date.parse(iso)) * 1_000_000n;

function span(
  attributes: Record<string, unknown>,
  o: { name?: string; start?: string; ms?: number } = {},
): SpanToPrice {
  const start = at(o.start ?? '2026-03-01T12:00:00Z');
  const get = (k: string) => attributes[k];
  return {
    name: o.name ?? 'op',
    startTimeUnixNano: start,
    endTimeUnixNano: start + BigInt(Math.round((o.ms ?? 0) * 1e6)),
    get,
    usage: usageFromAttributes(get),
  };
}

const PICO = 10n ** 12n;

describe('priceSpan', () => {
  const models = book({
    models: [
      {
        provider: 'openai',
        model: 'ft:gpt-4o-mini:acme',
        match: 'prefix',
        input_usd_per_mtok: '0.30',
        output_usd_per_mtok: '1.20',
        cached_input_usd_per_mtok: '0.15',
      },
      {
        model: 'gemini-2.5-pro',
        input_usd_per_mtok: '1.25',
        output_usd_per_mtok: '10',
        tiers: [{ above_input_tokens: 200000, input_usd_per_mtok: '2.50', output_usd_per_mtok: '15' }],
      },
      { model: 'self', input_usd_per_mtok: 1, output_usd_per_mtok: 2, to: '2026-03-01' },
      { model: 'self', input_usd_per_mtok: 3, output_usd_per_mtok: 4, usd_per_request: '0.0004', from: '2026-03-01' },
    ],
  });

  it('prices tokens per million, cached input at its own rate, by prefix and provider', () => {
    const s = span({
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'ft:gpt-4o-mini:acme:v2',
      'gen_ai.usage.input_tokens': 1000,
      'gen_ai.usage.cache_read.input_tokens': 400,
      'gen_ai.usage.output_tokens': 100,
    });
    // 600 × 0.30 + 400 × 0.15 + 100 × 1.20 USD per Mtok = 360 µUSD = 0.036 cents
    expect(priceSpan(models, s)).toEqual({ picocents: (36n * PICO) / 1000n, rule: 'models[0]' });
    const usage = s.usage as NonNullable<SpanToPrice['usage']>;
    expect(priceSpan(models, { ...s, usage: { ...usage, vendor: 'anthropic' } })).toBeNull();
  });

  it('applies a tier only strictly above its threshold, to the whole call', () => {
    const priced = (input: number) =>
      priceSpan(
        models,
        span({
          'gen_ai.request.model': 'gemini-2.5-pro',
          'gen_ai.usage.input_tokens': input,
          'gen_ai.usage.output_tokens': 1000,
        }),
      );
    // 200,000 × 1.25 + 1,000 × 10 = 260,000 µUSD = 26 cents; one more token: 200,001 × 2.5 + 1,000 × 15 µUSD =
    // 515,002.5 µUSD = 51.50025 cents
    expect(priced(200_000)?.picocents).toBe(26n * PICO);
    expect(priced(200_001)?.picocents).toBe(51_500_250_000_000n);
  });

  it('uses the entry in force at the span start: exactly at `from` is the new price, `to` is exclusive', () => {
    const attrs = {
      'gen_ai.request.model': 'self',
      'gen_ai.usage.input_tokens': 1_000_000,
      'gen_ai.usage.output_tokens': 0,
    };
    expect(priceSpan(models, span(attrs, { start: '2026-02-28T23:59:59.999Z' }))).toEqual({
      picocents: 100n * PICO,
      rule: 'models[2]',
    });
    // 3 USD + 0.0004 USD per request
    expect(priceSpan(models, span(attrs, { start: '2026-03-01T00:00:00Z' }))).toEqual({
      picocents: (30_004n * PICO) / 100n,
      rule: 'models[3]',
    });
  });

  const rules = book({
    http: [
      { host: 'api.sendgrid.com', method: 'POST', path: '/v3/mail/send', cents_per_request: '0.1' },
      { host: '*.twilio.com', path: '/2010-04-01/Accounts/*', cents_per_request: '0.79' },
      { host: 's3.amazonaws.com', cents_per_request: '0.0004', cents_per_response_byte: '0.000000009' },
    ],
    db: [
      { system: 'postgresql', operation: 'SELECT', cents_per_ms: '0.0001' },
      { system: 'postgresql', cents_per_query: '0.0002' },
    ],
    spans: [
      { name: 'render_pdf', cents_per_ms: '0.002' },
      { attributes: { 'job.queue': 'video', 'job.priority': 2 }, cents_per_span: '1.5' },
    ],
  });

  it('prices HTTP calls from current and older attribute names, wildcard hosts and path prefixes, per byte', () => {
    expect(
      priceSpan(
        rules,
        span({ 'http.request.method': 'POST', 'server.address': 'api.sendgrid.com', 'url.path': '/v3/mail/send' }),
      ),
    ).toEqual({ picocents: PICO / 10n, rule: 'http[0]' });
    expect(
      priceSpan(
        rules,
        span({ 'http.method': 'get', 'http.url': 'https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?x=1' }),
      ),
    ).toEqual({ picocents: (79n * PICO) / 100n, rule: 'http[1]' });
    expect(
      priceSpan(
        rules,
        span({
          'http.request.method': 'GET',
          'server.address': 's3.amazonaws.com:443',
          'http.response.body.size': 1_000_000,
        }),
      ),
    ).toEqual({
      picocents: (4n * PICO) / 10_000n + 9_000n * 1_000_000n,
      rule: 'http[2]',
    });
    expect(
      priceSpan(
        rules,
        span({ 'http.request.method': 'GET', 'server.address': 'api.sendgrid.com', 'url.path': '/v3/mail/send' }),
      ),
    ).toBeNull();
  });

  it('prices DB queries by system and operation (db.system.name or db.system), per ms half-even', () => {
    // 12.3456 ms at µs resolution = 12,345 µs × 0.0001 cents per ms = 0.0012345 cents
    expect(
      priceSpan(rules, span({ 'db.system.name': 'postgresql', 'db.operation.name': 'SELECT' }, { ms: 12.3456 })),
    ).toEqual({ picocents: 1_234_500_000n, rule: 'db[0]' });
    expect(priceSpan(rules, span({ 'db.system': 'PostgreSQL', 'db.statement': 'insert into t values (1)' }))).toEqual({
      picocents: (2n * PICO) / 10_000n,
      rule: 'db[1]',
    });
    expect(priceSpan(rules, span({ 'db.system': 'postgresql' }))).toBeNull(); // a connect, not a query
  });

  it('prices spans by name or attribute filter (numbers by value)', () => {
    expect(priceSpan(rules, span({}, { name: 'render_pdf', ms: 1500 }))).toEqual({
      picocents: 3n * PICO,
      rule: 'spans[0]',
    });
    expect(priceSpan(rules, span({ 'job.queue': 'video', 'job.priority': 2n }))).toEqual({
      picocents: (15n * PICO) / 10n,
      rule: 'spans[1]',
    });
    // int64 attributes are stored as decimal text (what re-pricing reads back): equal by value
    expect(priceSpan(rules, span({ 'job.queue': 'video', 'job.priority': '2' }))).toMatchObject({ rule: 'spans[1]' });
    expect(priceSpan(rules, span({ 'job.queue': 'video', 'job.priority': '2x' }))).toBeNull();
    expect(priceSpan(rules, span({}, { name: 'other' }))).toBeNull();
  });

  it('rounds half to even', () => {
    expect([5n, 15n, 25n, -5n, -15n, 6n, 14n].map((n) => divideHalfEven(n, 10n))).toEqual([
      0n,
      2n,
      2n,
      0n,
      -2n,
      1n,
      1n,
    ]);
  });
});
