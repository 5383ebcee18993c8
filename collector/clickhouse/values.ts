/**
 * Values as the ClickHouse store sends them in JSONEachRow and reads them back: money as exact decimal text
 * (Decimal(38,12), never a float), 64-bit integers as text, times as DateTime64(6) text in UTC. Pure.
 */
import { formatPicocents, type Picocents, parseDecimalString } from '../../src/money.ts';

/** DateTime64(6)'s range in ClickHouse: 1900-01-01 to 2299-12-31 23:59:59.999999 (µs since the epoch). */
export const MIN_TIME_MICROS = -2_208_988_800_000_000n;
export const MAX_TIME_MICROS = 10_413_791_999_999_999n;

/** µs since the epoch as DateTime64(6) text, `2025-01-01 00:00:00.000001` (UTC). Throws outside the type's range. */
export function dateTime64Text(micros: bigint): string {
  if (micros < MIN_TIME_MICROS || micros > MAX_TIME_MICROS) {
    throw new RangeError(`time ${micros} µs is outside ClickHouse DateTime64's range (1900-01-01 to 2299-12-31)`);
  }
  const seconds = micros >= 0n ? micros / 1_000_000n : (micros - 999_999n) / 1_000_000n;
  const fraction = (micros - seconds * 1_000_000n).toString().padStart(6, '0');
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19).replace('T', ' ')}.${fraction}`;
}

/** DateTime64(6) text (UTC) back to µs since the epoch. */
export function microsOfDateTime64(text: string): bigint {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?$/.exec(text);
  if (m === null) throw new Error(`not a DateTime64 text: ${text}`);
  const seconds = BigInt(Date.parse(`${m[1]}T${m[2]}Z`) / 1000);
  return seconds * 1_000_000n + BigInt((m[3] ?? '').padEnd(6, '0'));
}

export const moneyText = (picocents: Picocents | null): string | null =>
  picocents === null ? null : formatPicocents(picocents);

/** Decimal text as ClickHouse sends it (quoted decimals) back to exact picocents. */
export function picocentsOf(text: string | null): Picocents | null {
  if (text === null) return null;
  const parsed = parseDecimalString(text);
  if (!parsed.ok) throw new Error(`ClickHouse sent money that is not a decimal: ${text}`);
  return parsed.picocents;
}
