/**
 * The price book parser: the example book (examples/price-book.json, the README's) reads into exact values;
 * a bad book is refused with every problem at its location — structure (JSON Schema) and meaning alike.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type BookProblem, parsePriceBook } from '../../../../collector/features/prices/book.ts';

const EXAMPLE = JSON.parse(readFileSync(new URL('../../../../examples/price-book.json', import.meta.url), 'utf8'));
const DAY = 86_400_000_000n;
const day = (iso: string) => (BigInt(Date.parse(`${iso}T00:00:00Z`)) / 86_400_000n) * DAY;

function problemsOf(book: unknown): BookProblem[] {
  const r = parsePriceBook(book);
  if (r.ok) throw new Error('expected the book to be refused');
  return r.problems;
}

describe('price book', () => {
  it('reads the example book into exact values', () => {
    const r = parsePriceBook(EXAMPLE);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const { models, http, db, spans, fixed, fx } = r.book;
    expect(models[0]).toMatchObject({
      provider: 'openai',
      match: 'prefix',
      inputUsdPerMtok12: 300_000_000_000n,
      outputUsdPerMtok12: 1_200_000_000_000n,
      cachedInputUsdPerMtok12: 150_000_000_000n,
      cacheWriteUsdPerMtok12: null,
      fromMicros: null,
      toMicros: null,
    });
    expect(models[1]?.tiers).toEqual([
      { aboveInputTokens: 200000, inputUsdPerMtok12: 2_500_000_000_000n, outputUsdPerMtok12: 15_000_000_000_000n },
    ]);
    expect(models[2]).toMatchObject({ match: 'exact', usdPerRequest12: 400_000_000n, fromMicros: day('2026-01-01') });
    expect(http[1]).toMatchObject({ host: '*.twilio.com', method: null, toMicros: day('2026-07-01') });
    expect(http[3]?.picocentsPerResponseByte).toBe(9_000n);
    expect(db[0]).toMatchObject({ system: 'postgresql', operation: 'SELECT', picocentsPerMs: 100_000_000n });
    expect(spans[1]).toMatchObject({
      name: null,
      attributes: [['job.queue', 'video']],
      picocentsPerSpan: 1_500_000_000_000n,
    });
    expect(fixed[0]).toMatchObject({
      amountPicocents: 300_000n * 10n ** 12n,
      currency: 'USD',
      method: 'proportional',
      measure: { spans: [['db.system', 'postgresql']], by: 'duration_ms' },
    });
    expect(fixed[2]?.weights).toEqual(
      new Map([
        ['acme', 3n * 10n ** 12n],
        ['globex', 10n ** 12n],
      ]),
    );
    expect(fx).toEqual([
      { currency: 'EUR', dayMicros: day('2026-01-01'), usdPerUnit12: 1_084_200_000_000n },
      { currency: 'EUR', dayMicros: day('2026-02-01'), usdPerUnit12: 1_079_100_000_000n },
    ]);
  });

  it('accepts an empty book', () => {
    expect(parsePriceBook({})).toEqual({
      ok: true,
      book: { models: [], http: [], db: [], spans: [], fixed: [], fx: [] },
    });
  });

  it('reports every structural problem with its location', () => {
    const problems = problemsOf({
      models: [{ model: 'm', input_usd_per_mtok: '1', output_usd_per_mtok: 'lots', match: 'glob' }, { model: 'x' }],
      http: [{ host: 'a.example', cents_per_requests: 1 }],
      extra: true,
    });
    const locs = problems.map((p) => p.loc.join('.'));
    expect(locs).toEqual(
      expect.arrayContaining([
        'models.0.output_usd_per_mtok',
        'models.0.match',
        'models.1.input_usd_per_mtok',
        'models.1.output_usd_per_mtok',
        'http.0.cents_per_requests',
        'extra',
      ]),
    );
    expect(problems.every((p) => p.msg.length > 0)).toBe(true);
  });

  it('reports every problem of meaning with its location, and refuses the whole book', () => {
    const problems = problemsOf({
      models: [
        {
          model: 'm',
          input_usd_per_mtok: '-1',
          output_usd_per_mtok: '0.0000000000001',
          from: '2026-02-30',
          tiers: [
            { above_input_tokens: 10, input_usd_per_mtok: 1, output_usd_per_mtok: 1 },
            { above_input_tokens: 10, input_usd_per_mtok: 2, output_usd_per_mtok: 2 },
          ],
        },
      ],
      http: [{ host: 'a.example', cents_per_request: 1, from: '2026-03-01', to: '2026-03-01' }],
      spans: [{ cents_per_span: 1 }],
      fixed: [
        { name: 'db', amount_cents: 100, period: 'month', allocate: { method: 'proportional' } },
        { name: 'w', amount_cents: 100, period: 'day', allocate: { method: 'weights' } },
        { name: 'e', amount_cents: 100, period: 'day', allocate: { method: 'even', weights: { a: 1 } } },
        { name: 'gbp', amount_cents: 100, currency: 'GBP', period: 'day', allocate: { method: 'even' } },
        { name: 'e', amount_cents: 100, period: 'day', to: '2026-02-01', allocate: { method: 'even' } },
        { name: 'gbp', amount_cents: 100, period: 'day', from: '2026-02-01', allocate: { method: 'even' } },
      ],
      fx: [
        { currency: 'EUR', date: '2026-01-01', usd_per_unit: '1.1' },
        { currency: 'eur', date: '2026-01-01', usd_per_unit: '1.2' },
        { currency: 'USD', date: '2026-01-01', usd_per_unit: '1' },
        { currency: 'JPY', date: '2026-01-01', usd_per_unit: 0 },
      ],
    });
    const byLoc = (a: string[], b: string[]) => (a.join() < b.join() ? -1 : 1);
    expect(problems.map((p) => [p.loc.join('.'), p.msg]).sort(byLoc)).toEqual(
      [
        ['models.0.from', '"2026-02-30" is not a real day (YYYY-MM-DD, 1970-01-01..2554-07-21)'],
        ['models.0.tiers', 'two tiers have the same above_input_tokens'],
        ['models.0.input_usd_per_mtok', 'must not be negative'],
        ['models.0.output_usd_per_mtok', '"0.0000000000001" has more than 12 decimal places'],
        ['http.0.to', '`to` must be after `from` (it is exclusive)'],
        ['spans.0', 'a span rule needs a `name` or an `attributes` filter (it would price every span)'],
        ['fixed.0.allocate.measure', 'proportional allocation needs a measure ({"by": ...})'],
        ['fixed.1.allocate.weights', 'weights allocation needs weights per customer id'],
        ['fixed.2.allocate.weights', 'weights apply only to method "weights", not "even"'],
        ['fx.2.currency', 'amounts are stored in USD; a USD rate is always 1'],
        ['fx.3.usd_per_unit', 'must be greater than 0'],
        ['fx.1', 'a second rate for EUR on the same day as fx[0]'],
        ['fixed.3.currency', 'no fx rate for GBP in the book'],
        ['fixed.4.name', '"e" is also the name of fixed[2], in force at the same time'],
        ['fixed.5.name', '"gbp" is also the name of fixed[3], in force at the same time'],
      ].sort(byLoc),
    );
  });
});
