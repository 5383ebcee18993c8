/**
 * Fixed-cost allocation (docs/contract.md §8), the pure part: a bill's share of one UTC day and its split across the
 * customers active that day. Every amount is an exact integer of picocents (10^-12 cent):
 * - the day's share of a `month` bill is the amount ÷ days in that month, rounded half-even once; a bill in
 *   another currency is then converted with the book's rate for that day (one more half-even rounding);
 * - the split is by largest remainder: each customer gets ⌊share × w / W⌋, and the picocents left over go one
 *   each to the largest remainders (ties: customer id, ascending), so the parts add up to the share exactly;
 * - nobody to split among (no customer active, no weighted customer active, no measured usage) → the whole share
 *   stays unattributed (customer null).
 */

import type { FixedBill, PriceBook } from './book.ts';
import { toUsd } from './fx.ts';
import { divideHalfEven } from './price-span.ts';

/** What one UTC day's records say about its customers (features/prices/allocations.ts reads it). */
export interface DayUsage {
  /** Customers with any span or event that day (allocations themselves not counted). */
  readonly active: readonly string[];
  /** A proportional bill's measure per customer: spans, nanoseconds or picocents (exact integers). */
  measure(bill: FixedBill): ReadonlyMap<string, bigint>;
}

export interface AllocationPart {
  /** null: unattributed. */
  readonly customerId: string | null;
  readonly picocents: bigint;
  /** The customer's weight in the split (1 for even, the measure or configured weight), 0 when unattributed. */
  readonly weight: bigint;
}

export type DayShare =
  | { readonly ok: true; readonly usdPicocents: bigint }
  | { readonly ok: false; readonly reason: string };

/** Bills in force on the UTC day starting at `dayMicros` (`from`/`to` are whole UTC days). */
export function billsInForce(book: PriceBook, dayMicros: bigint): FixedBill[] {
  return book.fixed.filter(
    (f) => (f.fromMicros === null || dayMicros >= f.fromMicros) && (f.toMicros === null || dayMicros < f.toMicros),
  );
}

export function daysInMonth(dayMicros: bigint): number {
  const d = new Date(Number(dayMicros / 1000n));
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
}

/** The bill's share of the UTC day starting at `dayMicros`, in USD picocents. */
export function dayShare(bill: FixedBill, dayMicros: bigint, book: PriceBook): DayShare {
  const local =
    bill.period === 'day' ? bill.amountPicocents : divideHalfEven(bill.amountPicocents, BigInt(daysInMonth(dayMicros)));
  if (bill.currency === 'USD') return { ok: true, usdPicocents: local };
  const fx = toUsd(book.fx, local, bill.currency, dayMicros);
  return fx.ok ? { ok: true, usdPicocents: fx.usdPicocents } : { ok: false, reason: fx.reason };
}

/**
 * Splits `total` (≥ 0) by the weights (entries with weight ≤ 0 take no part); empty when no weight is positive.
 * The parts add up to `total` exactly and each is within one picocent of total × w / W.
 */
export function splitLargestRemainder(
  total: bigint,
  weights: ReadonlyArray<readonly [string, bigint]>,
): Map<string, bigint> {
  const positive = weights.filter(([, w]) => w > 0n);
  const sum = positive.reduce((s, [, w]) => s + w, 0n);
  const parts = new Map<string, bigint>();
  if (sum === 0n) return parts;
  let left = total;
  const remainders: Array<{ id: string; rem: bigint }> = [];
  for (const [id, w] of positive) {
    const part = (total * w) / sum;
    parts.set(id, part);
    left -= part;
    remainders.push({ id, rem: (total * w) % sum });
  }
  remainders.sort((a, b) => (a.rem === b.rem ? (a.id < b.id ? -1 : 1) : a.rem > b.rem ? -1 : 1));
  for (let i = 0; left > 0n; i++, left--) {
    const r = remainders[i] as { id: string };
    parts.set(r.id, (parts.get(r.id) ?? 0n) + 1n);
  }
  return parts;
}

/** The bill's day share split by its method among the day's customers (sorted by customer id). */
export function allocateDay(bill: FixedBill, sharePicocents: bigint, usage: DayUsage): AllocationPart[] {
  const weights: Array<readonly [string, bigint]> =
    bill.method === 'even'
      ? usage.active.map((id) => [id, 1n] as const)
      : bill.method === 'weights'
        ? usage.active.flatMap((id) => {
            const w = bill.weights.get(id);
            return w === undefined ? [] : [[id, w] as const];
          })
        : [...usage.measure(bill)];
  const parts = splitLargestRemainder(sharePicocents, weights);
  if (parts.size === 0) return [{ customerId: null, picocents: sharePicocents, weight: 0n }];
  const weightOf = new Map(weights);
  return [...parts]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([customerId, picocents]) => ({ customerId, picocents, weight: weightOf.get(customerId) ?? 0n }));
}
