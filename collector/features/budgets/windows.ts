/**
 * Budget arithmetic, pure (docs/contract.md §11): the UTC calendar window a time falls in — day, ISO week (from
 * Monday), month — exactly as DuckDB's `date_trunc` in UTC (test/collector/features/budgets/budget-windows.test.ts compares them),
 * and which thresholds a spend has reached, in exact integers.
 */
import { DAY_MICROS } from '../../core/time.ts';

export type BudgetWindowKind = 'day' | 'week' | 'month';

export interface WindowMicros {
  readonly startMicros: bigint;
  readonly endMicros: bigint;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** The window of `kind` containing the instant `tsMicros` (µs since the epoch, UTC): [start, end). */
export function budgetWindow(kind: BudgetWindowKind, tsMicros: bigint): WindowMicros {
  const day = floorDiv(tsMicros, DAY_MICROS);
  if (kind === 'day') return { startMicros: day * DAY_MICROS, endMicros: (day + 1n) * DAY_MICROS };
  if (kind === 'week') {
    // 1970-01-01 was a Thursday: day 0 is weekday 3 counted from Monday.
    const monday = day - ((((day + 3n) % 7n) + 7n) % 7n);
    return { startMicros: monday * DAY_MICROS, endMicros: (monday + 7n) * DAY_MICROS };
  }
  const date = new Date(Number(day) * 86_400_000);
  const startMs = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
  const endMs = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
  return { startMicros: BigInt(startMs) * 1000n, endMicros: BigInt(endMs) * 1000n };
}

/** A threshold as stored text (DECIMAL(9,6), e.g. "0.800000") in its short form ("0.8"), the form budgets use. */
export function thresholdText(stored: string): string {
  return stored.includes('.') ? stored.replace(/0+$/, '').replace(/\.$/, '') : stored;
}

/** Thresholds are fractions with at most 6 decimals (DECIMAL(9,6)); as millionths. */
export function thresholdMillionths(t: string): bigint {
  const m = /^(\d+)(?:\.(\d{1,6}))?$/.exec(t);
  if (!m) throw new RangeError(`threshold ${t} is not a decimal with at most 6 places`);
  return BigInt(m[1] as string) * 1_000_000n + BigInt((m[2] ?? '').padEnd(6, '0'));
}

/** The thresholds (as given) that `spent` has reached against `amount` (both picocents): spent ≥ amount × t. */
export function thresholdsReached(spent: bigint, amount: bigint, thresholds: readonly string[]): string[] {
  return thresholds.filter((t) => spent * 1_000_000n >= amount * thresholdMillionths(t));
}

/** A budget as stored and served (docs/contract.md §11). */
export type BudgetWindow = BudgetWindowKind;

export interface Budget {
  readonly customerId: string;
  readonly amountPicocents: bigint;
  readonly window: BudgetWindow;
  /** Fractions of the amount, ascending, as exact decimal text (e.g. "0.8"). */
  readonly thresholds: readonly string[];
  readonly webhookUrl: string | null;
  readonly updatedAtMicros: bigint;
}
