/**
 * The indexed price book (collector/features/prices/book-index.ts) picks exactly the entry a scan of every entry in book
 * order would: random books of every kind (exact and prefix models, exact and wildcard hosts, systems or none,
 * named, filtered and unconditional span rules, overlapping dates) against random spans, checked by a plain
 * first-match scan written here.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type PriceBook, parsePriceBook } from '../../../../collector/features/prices/book.ts';
import { attributesMatch, priceSpan, type SpanToPrice } from '../../../../collector/features/prices/price-span.ts';
import { usageFromAttributes } from '../../../../src/pricing.ts';
import { dbCall, dbRuleMatches, httpCall, httpRuleMatches } from '../../../../src/rule-match.ts';

const MODELS = ['gpt-4o', 'gpt-4o-mini', 'gpt-4o-mini-2024-07-18', 'claude-sonnet-4', 'o4'];
const HOSTS = ['api.example.com', 'eu.api.example.com', 'example.com', 'other.net'];
const SYSTEMS = ['postgresql', 'PostgreSQL', 'mysql'];
const NAMES = ['render', 'send', 'op'];
const DAYS = ['2026-01-01', '2026-02-01', '2026-03-01'];

const when = fc.record({ from: fc.option(fc.constantFrom(...DAYS), { nil: undefined }) }, { requiredKeys: [] });
const amount = fc.constantFrom('1', '2.5', '0.001');
const bookJson = fc.record({
  models: fc.array(
    fc.record({
      model: fc.oneof(fc.constantFrom(...MODELS), fc.constantFrom('gpt', 'gpt-4o-', 'claude', 'o')),
      match: fc.constantFrom('exact', 'prefix'),
      provider: fc.option(fc.constantFrom('openai', 'anthropic'), { nil: undefined }),
      input_usd_per_mtok: amount,
      output_usd_per_mtok: amount,
      when,
    }),
    { maxLength: 12 },
  ),
  http: fc.array(
    fc.record({
      host: fc.constantFrom(...HOSTS, '*.example.com', '*.api.example.com', 'API.example.com'),
      method: fc.option(fc.constantFrom('GET', 'POST'), { nil: undefined }),
      cents_per_request: amount,
      when,
    }),
    { maxLength: 12 },
  ),
  db: fc.array(
    fc.record({
      system: fc.option(fc.constantFrom(...SYSTEMS), { nil: undefined }),
      operation: fc.option(fc.constantFrom('SELECT', 'insert'), { nil: undefined }),
      cents_per_query: amount,
      when,
    }),
    { maxLength: 12 },
  ),
  spans: fc.array(
    fc.record({
      name: fc.option(fc.constantFrom(...NAMES), { nil: undefined }),
      attributes: fc.option(
        fc.dictionary(
          fc.constantFrom('tier', 'job.kind', 'n'),
          fc.oneof(fc.constantFrom('a', 'b', '5'), fc.constantFrom(5, 7), fc.boolean()),
          {
            maxKeys: 2,
          },
        ),
        { nil: undefined },
      ),
      cents_per_span: amount,
      when,
    }),
    { maxLength: 12 },
  ),
});

/** The JSON book with each entry's `when` spread into it (from/to); a span rule gets a name if it has no filter. */
function toBook(json: { [k: string]: Array<Record<string, unknown>> }): PriceBook {
  json.spans = (json.spans ?? []).map((s) =>
    s.name === undefined && Object.keys((s.attributes as object | undefined) ?? {}).length === 0
      ? { ...s, name: 'op' }
      : s,
  );
  const plain = Object.fromEntries(
    Object.entries(json).map(([kind, entries]) => [
      kind,
      entries.map(({ when: w, ...rest }) =>
        Object.fromEntries(Object.entries({ ...rest, ...(w as object) }).filter(([, v]) => v !== undefined)),
      ),
    ]),
  );
  const parsed = parsePriceBook(plain);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.book;
}

const spanArb = fc.record({
  name: fc.constantFrom(...NAMES),
  day: fc.constantFrom('2025-12-31', ...DAYS, '2026-04-01'),
  attributes: fc.record(
    {
      'gen_ai.system': fc.constantFrom('openai', 'anthropic'),
      'gen_ai.response.model': fc.constantFrom(...MODELS, 'gpt-4o-mini-x', 'claude-sonnet-4-20250514'),
      'gen_ai.usage.input_tokens': fc.integer({ min: 0, max: 5000 }),
      'server.address': fc.constantFrom(...HOSTS, 'a.eu.api.example.com'),
      'http.request.method': fc.constantFrom('GET', 'POST'),
      'db.system.name': fc.constantFrom(...SYSTEMS, 'POSTGRESQL'),
      'db.operation.name': fc.constantFrom('SELECT', 'INSERT'),
      tier: fc.constantFrom('a', 'b', '5', '5.0'),
      'job.kind': fc.oneof(fc.constantFrom('a', 'b'), fc.constant(5n), fc.constant(7)),
      n: fc.oneof(fc.integer({ min: 4, max: 8 }), fc.boolean()),
    },
    { requiredKeys: [] },
  ),
});

/** First match by scanning every entry in order, with the same per-entry rules (the reference). */
function scan(book: PriceBook, span: SpanToPrice): string | null {
  const start = span.startTimeUnixNano / 1000n;
  const live = (e: { fromMicros: bigint | null; toMicros: bigint | null }) =>
    (e.fromMicros === null || start >= e.fromMicros) && (e.toMicros === null || start < e.toMicros);
  const u = span.usage;
  if (u !== null) {
    const i = book.models.findIndex(
      (m) =>
        live(m) &&
        (m.provider === null || m.provider === u.vendor) &&
        u.models.some((n) => (m.match === 'prefix' ? n.startsWith(m.model) : n === m.model)),
    );
    if (i >= 0) return `models[${i}]`;
  }
  const http = httpCall(span.get);
  if (http !== null) {
    const i = book.http.findIndex((h) => live(h) && httpRuleMatches(h, http));
    if (i >= 0) return `http[${i}]`;
  }
  const db = dbCall(span.get);
  if (db !== null) {
    const i = book.db.findIndex((d) => live(d) && dbRuleMatches(d, db));
    if (i >= 0) return `db[${i}]`;
  }
  const i = book.spans.findIndex(
    (s) => live(s) && (s.name === null || s.name === span.name) && attributesMatch(s.attributes, span.get),
  );
  return i >= 0 ? `spans[${i}]` : null;
}

describe('the price book index', () => {
  it('picks the entry a scan in book order picks, for any book and span', () => {
    fc.assert(
      fc.property(bookJson, fc.array(spanArb, { minLength: 1, maxLength: 8 }), (json, spans) => {
        const book = toBook(json as never);
        for (const s of spans) {
          const start = BigInt(Date.parse(`${s.day}T12:00:00Z`)) * 1_000_000n;
          const get = (k: string) => (s.attributes as Record<string, unknown>)[k];
          const span: SpanToPrice = {
            name: s.name,
            startTimeUnixNano: start,
            endTimeUnixNano: start,
            get,
            usage: usageFromAttributes(get),
          };
          expect(priceSpan(book, span)?.rule ?? null).toBe(scan(book, span));
        }
      }),
      { numRuns: 2000, seed: 20261207 },
    );
  });
});
