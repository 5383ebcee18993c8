/** FX rates: the latest rate on or before the UTC day applies; conversion is exact with one half-even rounding. */
import { describe, expect, it } from 'vitest';
import type { FxRate } from '../../../../collector/features/prices/book.ts';
import { rateOn, toUsd } from '../../../../collector/features/prices/fx.ts';

const day = (iso: string) => BigInt(Date.parse(`${iso}T00:00:00Z`)) * 1000n;
const FX: FxRate[] = [
  { currency: 'EUR', dayMicros: day('2026-02-01'), usdPerUnit12: 1_079_100_000_000n },
  { currency: 'EUR', dayMicros: day('2026-01-01'), usdPerUnit12: 1_084_200_000_000n },
  { currency: 'JPY', dayMicros: day('2026-01-01'), usdPerUnit12: 6_500_000_000n },
];

describe('fx', () => {
  it('takes the latest rate on or before the day, the day itself included', () => {
    expect(rateOn(FX, 'EUR', day('2026-01-31') + 86_399_999_999n)?.usdPerUnit12).toBe(1_084_200_000_000n);
    expect(rateOn(FX, 'EUR', day('2026-02-01'))?.usdPerUnit12).toBe(1_079_100_000_000n);
    expect(rateOn(FX, 'EUR', day('2027-06-01'))?.usdPerUnit12).toBe(1_079_100_000_000n);
    expect(rateOn(FX, 'EUR', day('2026-01-01') - 1n)).toBeUndefined();
    expect(rateOn(FX, 'GBP', day('2026-03-01'))).toBeUndefined();
  });

  it('converts exactly, rounding half to even once', () => {
    // 1 picocent of JPY × 0.0065 = 0.0065 picocents → 0; 100 yen-cents × 0.0065 = 0.65 cents
    expect(toUsd(FX, 100n * 10n ** 12n, 'JPY', day('2026-03-01'))).toEqual({
      ok: true,
      usdPicocents: 65n * 10n ** 10n,
      usdPerUnit12: 6_500_000_000n,
    });
    // 500 picocents × 1.0842 = 542.1 → 542; 250 × 1.0791 = 269.775 → 270
    expect(toUsd(FX, 500n, 'EUR', day('2026-01-15'))).toMatchObject({ usdPicocents: 542n });
    expect(toUsd(FX, 250n, 'EUR', day('2026-02-15'))).toMatchObject({ usdPicocents: 270n });
    expect(toUsd(FX, 1n, 'EUR', day('2025-12-31'))).toEqual({
      ok: false,
      reason: 'no EUR rate on or before 2025-12-31 in the price book',
    });
  });
});
