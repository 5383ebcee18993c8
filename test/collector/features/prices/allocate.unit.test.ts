import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allocateDay,
  type DayUsage,
  dayShare,
  daysInMonth,
  splitLargestRemainder,
} from '../../../../collector/features/prices/allocate.ts';
import { type FixedBill, parsePriceBook } from '../../../../collector/features/prices/book.ts';

const P = 10n ** 12n; // picocents per cent
const day = (iso: string) => BigInt(Date.parse(`${iso}T00:00:00Z`)) * 1000n;

function book(fixed: unknown[], fx: unknown[] = []) {
  const parsed = parsePriceBook({ fixed, fx });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.book;
}

const usage = (active: string[], measure: Record<string, bigint> = {}): DayUsage => ({
  active,
  measure: () => new Map(Object.entries(measure)),
});

describe('fixed-cost allocation (pure)', () => {
  it('splits by largest remainder: parts add up exactly and each is within one picocent of its exact share', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 4 }), fc.bigInt({ min: -5n, max: 10n ** 15n })), {
          selector: ([id]) => id,
          maxLength: 30,
        }),
        (total, weights) => {
          const parts = splitLargestRemainder(total, weights);
          const positive = weights.filter(([, w]) => w > 0n);
          const sum = positive.reduce((s, [, w]) => s + w, 0n);
          if (sum === 0n) {
            expect(parts.size).toBe(0);
            return;
          }
          expect([...parts.values()].reduce((s, v) => s + v, 0n)).toBe(total);
          expect(parts.size).toBe(positive.length);
          for (const [id, w] of positive) {
            const got = parts.get(id) as bigint;
            // got − total·w/W lies in (−1, 1): |got·W − total·w| < W.
            const diff = got * sum - total * w;
            expect(diff < sum && diff > -sum).toBe(true);
          }
        },
      ),
    );
  });

  it('hands leftover picocents to the largest remainders, ties by customer id', () => {
    // 10 split 1:1:1 → 3.33… each; one picocent left goes to the first id.
    expect(
      splitLargestRemainder(10n, [
        ['c', 1n],
        ['a', 1n],
        ['b', 1n],
      ]),
    ).toEqual(
      new Map([
        ['c', 3n],
        ['a', 4n],
        ['b', 3n],
      ]),
    );
    // 10 split 1:2 → 3.33 / 6.67: the larger remainder (b) gets it.
    expect(
      splitLargestRemainder(10n, [
        ['a', 1n],
        ['b', 2n],
      ]),
    ).toEqual(
      new Map([
        ['a', 3n],
        ['b', 7n],
      ]),
    );
  });

  it("prorates a month bill over that month's days, half-even, and converts another currency with that day's rate", () => {
    expect(daysInMonth(day('2026-02-10'))).toBe(28);
    expect(daysInMonth(day('2028-02-10'))).toBe(29);
    expect(daysInMonth(day('2026-12-31'))).toBe(31);
    const b = book(
      [
        { name: 'db', amount_cents: '300000', period: 'month', allocate: { method: 'even' } },
        { name: 'eu', amount_cents: '100', currency: 'EUR', period: 'day', allocate: { method: 'even' } },
      ],
      [{ currency: 'EUR', date: '2026-03-01', usd_per_unit: '1.0842' }],
    );
    const [db, eu] = b.fixed as [FixedBill, FixedBill];
    // 300000 / 31 = 9677.419354838709677… → 9677.419354838710 (12 places, half-even)
    expect(dayShare(db, day('2026-03-05'), b)).toEqual({ ok: true, usdPicocents: 9677_419354838710n });
    expect(dayShare(db, day('2026-02-05'), b)).toEqual({ ok: true, usdPicocents: (300000n * P) / 28n });
    expect(dayShare(eu, day('2026-03-05'), b)).toEqual({ ok: true, usdPicocents: (108_42n * P) / 100n });
    expect(dayShare(eu, day('2026-02-28'), b)).toEqual({
      ok: false,
      reason: 'no EUR rate on or before 2026-02-28 in the price book',
    });
  });

  it('splits even among active customers, weights among the listed active ones, proportional by the measure', () => {
    const b = book([
      { name: 'e', amount_cents: 100, period: 'day', allocate: { method: 'even' } },
      { name: 'w', amount_cents: 100, period: 'day', allocate: { method: 'weights', weights: { a: 3, b: 1, z: 5 } } },
      { name: 'p', amount_cents: 100, period: 'day', allocate: { method: 'proportional', measure: { by: 'count' } } },
    ]);
    const [e, w, p] = b.fixed as [FixedBill, FixedBill, FixedBill];
    const u = usage(['a', 'b', 'c'], { a: 1n, c: 3n });
    expect(allocateDay(e, 100n * P, u).map((x) => [x.customerId, x.picocents])).toEqual([
      ['a', 33_333333333334n],
      ['b', 33_333333333333n],
      ['c', 33_333333333333n],
    ]);
    expect(allocateDay(w, 100n * P, u).map((x) => [x.customerId, x.picocents, x.weight])).toEqual([
      ['a', 75n * P, 3n * P],
      ['b', 25n * P, P],
    ]);
    expect(allocateDay(p, 100n * P, u).map((x) => [x.customerId, x.picocents])).toEqual([
      ['a', 25n * P],
      ['c', 75n * P],
    ]);
    // Nobody to split among: the whole share is unattributed.
    expect(allocateDay(e, 7n, usage([]))).toEqual([{ customerId: null, picocents: 7n, weight: 0n }]);
    expect(allocateDay(w, 7n, usage(['c']))).toEqual([{ customerId: null, picocents: 7n, weight: 0n }]);
    expect(allocateDay(p, 7n, usage(['a'], { a: 0n }))).toEqual([{ customerId: null, picocents: 7n, weight: 0n }]);
  });
});
