/**
 * The DDSketch of per-trace costs (collector/metrics/quantile-sketch.ts): every quantile within 1% of the exact one
 * (ranked as DuckDB's quantile_disc), merging equals sketching the union, a value taken out leaves the sketch of the
 * rest, and the SQL bucket (what the store uses) equals the JS one.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addValue,
  bucketFloor,
  bucketOf,
  bucketSql,
  mergeInto,
  quantileKeys,
  quantiles,
  removeValue,
  SKETCH_RELATIVE_ERROR,
  type Sketch,
  sketchFromJson,
  sketchToJson,
} from '../../../collector/metrics/quantile-sketch.ts';

const QS = [0.5, 0.9, 0.99];
const exactQuantile = (sorted: bigint[], q: number) => sorted[Math.max(1, Math.ceil(sorted.length * q)) - 1] as bigint;
const sketchOf = (values: bigint[]) => {
  const s: Sketch = new Map();
  for (const v of values) addValue(s, v);
  return s;
};
// Costs in picocents: from one picocent to $10M, many the same (calls of one model cost alike).
const cost = fc.oneof(
  fc.bigInt({ min: 0n, max: 10n ** 21n }),
  fc.bigInt({ min: 1n, max: 1000n }),
  fc.constantFrom(5_535_000_000_000n, 48_750_000_000n),
);

describe('quantile sketch', () => {
  it('answers every quantile within 1% of the exact one, and the p99 bucket floor is at or below it', () => {
    fc.assert(
      fc.property(fc.array(cost, { minLength: 1, maxLength: 400 }), (values) => {
        const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        const sketch = sketchOf(values);
        const got = quantiles(sketch, QS);
        QS.forEach((q, i) => {
          const want = exactQuantile(sorted, q);
          const error = Number(got[i] as bigint) - Number(want);
          // Rounding to whole picocents adds at most half of one.
          expect(Math.abs(error)).toBeLessThanOrEqual(Number(want) * SKETCH_RELATIVE_ERROR + 0.5);
        });
        const p99Key = quantileKeys(sketch, [0.99])[0] as number;
        expect(bucketFloor(p99Key) <= exactQuantile(sorted, 0.99)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('merges exactly: the merged sketch is the sketch of the union; taking a value out leaves the rest', () => {
    fc.assert(
      fc.property(fc.array(cost, { maxLength: 100 }), fc.array(cost, { minLength: 1, maxLength: 100 }), (a, b) => {
        const merged = sketchOf(a);
        mergeInto(merged, sketchOf(b));
        expect(merged).toEqual(sketchOf([...a, ...b]));
        removeValue(merged, b[0] as bigint);
        expect(merged).toEqual(sketchOf([...a, ...b.slice(1)]));
        expect(sketchFromJson(sketchToJson(merged))).toEqual(merged);
      }),
    );
  });

  it('keys sort as values do, zero and negatives included', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 18n), max: 10n ** 18n }),
        fc.bigInt({ min: -(10n ** 18n), max: 10n ** 18n }),
        (x, y) => {
          if (x < y) expect(bucketOf(x)).toBeLessThanOrEqual(bucketOf(y));
        },
      ),
    );
    expect(quantiles(new Map(), QS)).toEqual([null, null, null]);
  });

  it('buckets in DuckDB as in JS (the store computes every key in SQL)', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      const cents = ['0', '0.000000000001', '0.5535', '1', '2.0153', '48.75', '123456789.123456789012', '-3.25'];
      const got = (
        await conn.runAndReadAll(
          `SELECT ${bucketSql('c')} FROM (SELECT unnest([${cents.map((c) => `${c}::DECIMAL(38,12)`).join(', ')}]) AS c)`,
        )
      )
        .getRows()
        .map((r) => Number(r[0]));
      const toPico = (c: string) => {
        const [whole, frac = ''] = c.replace('-', '').split('.');
        const v = BigInt(whole as string) * 10n ** 12n + BigInt(frac.padEnd(12, '0'));
        return c.startsWith('-') ? -v : v;
      };
      expect(got).toEqual(cents.map((c) => bucketOf(toPico(c))));
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  });
});
