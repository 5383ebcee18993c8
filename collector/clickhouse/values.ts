/**
 * Values as the ClickHouse store sends them in JSONEachRow and reads them back: money as exact decimal text
 * (Decimal(38,12), never a float), 64-bit integers as text, times as DateTime64(6) text in UTC. Pure.
 */
import { formatPicocents, type Picocents, parseDecimalString } from '../../src/money.ts';

/**
 * The times the ClickHouse store holds (µs since the epoch): 1970-01-01 to 2106-02-07 06:28:15.999999. DateTime64(6)
 * itself reaches 1900–2299, but the day and slot functions the store's reads and keys use (`toDate`, a `Date`
 * parameter, `toStartOfInterval`, `toDateTime`) work in `Date`/`DateTime`, which end in 2149 and 2106 and wrap past
 * them — a 2200 span would land on a 2020 day and a re-send of it would not be found.
 */
export const MIN_TIME_MICROS = 0n;
export const MAX_TIME_MICROS = 4_294_967_295_999_999n;

/** µs since the epoch as DateTime64(6) text, `2025-01-01 00:00:00.000001` (UTC). Throws outside the type's range. */
export function dateTime64Text(micros: bigint): string {
  if (micros < MIN_TIME_MICROS || micros > MAX_TIME_MICROS) {
    throw new RangeError(
      `time ${micros} µs is outside what the ClickHouse store holds (1970-01-01 to 2106-02-07 06:28:15.999999 UTC)`,
    );
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
