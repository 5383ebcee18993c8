import { describe, expect, it } from 'vitest';
import {
  dateTime64Text,
  MAX_TIME_MICROS,
  MIN_TIME_MICROS,
  microsOfDateTime64,
  moneyText,
  picocentsOf,
} from '../../../collector/clickhouse/values.ts';

describe('ClickHouse values', () => {
  it('writes DateTime64(6) text in UTC and reads it back to the microsecond', async () => {
    const { default: fc } = await import('fast-check');
    expect(dateTime64Text(1_735_689_600_000_001n)).toBe('2025-01-01 00:00:00.000001');
    expect(dateTime64Text(MIN_TIME_MICROS)).toBe('1970-01-01 00:00:00.000000');
    expect(dateTime64Text(MAX_TIME_MICROS)).toBe('2106-02-07 06:28:15.999999');
    fc.assert(
      fc.property(fc.bigInt({ min: MIN_TIME_MICROS, max: MAX_TIME_MICROS }), (us) => {
        expect(microsOfDateTime64(dateTime64Text(us))).toBe(us);
      }),
    );
  });

  it('refuses a time outside what the day and slot functions hold instead of writing a wrong one', () => {
    expect(() => dateTime64Text(MAX_TIME_MICROS + 1n)).toThrow(/outside what the ClickHouse store holds/);
    expect(() => dateTime64Text(MIN_TIME_MICROS - 1n)).toThrow(RangeError);
  });

  it('sends money as exact decimal text and reads it back exactly', () => {
    expect(moneyText(1n)).toBe('0.000000000001');
    expect(moneyText(-12_345_000_000_000_000n)).toBe('-12345');
    expect(moneyText(null)).toBeNull();
    expect(picocentsOf('12345678901234567890123456.000000000001')).toBe(
      12_345_678_901_234_567_890_123_456_000_000_000_001n,
    );
    expect(() => picocentsOf('twelve')).toThrow(/not a decimal/);
  });
});
