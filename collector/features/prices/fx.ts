/**
 * Other currencies (docs/contract.md §8): an amount in a currency other than USD is converted with the price book's
 * rate for that UTC day — the latest rate on or before it — exactly (one half-even rounding); with no such rate
 * the amount is refused with the reason, never guessed.
 */
import { formatPicocents } from '../../../src/money.ts';
import { DAY_MICROS } from '../../core/time.ts';
import type { FxRate } from './book.ts';
import { divideHalfEven } from './price-span.ts';

export type FxConversion =
  | { readonly ok: true; readonly usdPicocents: bigint; readonly usdPerUnit12: bigint }
  | { readonly ok: false; readonly reason: string };

const SCALE = 10n ** 12n;

/** Rates per currency, ascending by day, built once per book. */
const indexes = new WeakMap<readonly FxRate[], Map<string, FxRate[]>>();

function indexOf(fx: readonly FxRate[]): Map<string, FxRate[]> {
  let index = indexes.get(fx);
  if (index === undefined) {
    index = new Map();
    for (const r of fx) {
      const list = index.get(r.currency) ?? [];
      list.push(r);
      index.set(r.currency, list);
    }
    for (const list of index.values()) list.sort((a, b) => (a.dayMicros < b.dayMicros ? -1 : 1));
    indexes.set(fx, index);
  }
  return index;
}

/** The rate in force on the UTC day of `atMicros`, or undefined. */
export function rateOn(fx: readonly FxRate[], currency: string, atMicros: bigint): FxRate | undefined {
  const list = indexOf(fx).get(currency);
  if (list === undefined) return undefined;
  const day = atMicros - (((atMicros % DAY_MICROS) + DAY_MICROS) % DAY_MICROS);
  let lo = 0;
  let hi = list.length - 1;
  let found: FxRate | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = list[mid] as FxRate;
    if (r.dayMicros <= day) {
      found = r;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** `amountPicocents` of `currency` (upper case, not USD) in USD picocents at the rate for `atMicros`' day. */
export function toUsd(
  fx: readonly FxRate[],
  amountPicocents: bigint,
  currency: string,
  atMicros: bigint,
): FxConversion {
  const rate = rateOn(fx, currency, atMicros);
  if (rate === undefined) {
    const day = new Date(Number(atMicros / 1000n)).toISOString().slice(0, 10);
    return { ok: false, reason: `no ${currency} rate on or before ${day} in the price book` };
  }
  return {
    ok: true,
    usdPicocents: divideHalfEven(amountPicocents * rate.usdPerUnit12, SCALE),
    usdPerUnit12: rate.usdPerUnit12,
  };
}

/** The original amount as kept next to the converted one (`_cost.original_*` attributes). */
export function originalAmount(
  amountPicocents: bigint,
  currency: string,
  usdPerUnit12: bigint,
): Record<string, string> {
  return {
    original_amount: formatPicocents(amountPicocents),
    original_currency: currency,
    usd_per_unit: formatPicocents(usdPerUnit12),
  };
}
