/**
 * Exact money. Amounts are cents with up to 12 decimal places, held as a bigint count of
 * 10^-12 cents ("picocents") so sums never pass through binary floats. Matches the store's
 * DECIMAL(38,12) columns.
 */
export const MONEY_SCALE = 12;
const SCALE_FACTOR = 10n ** BigInt(MONEY_SCALE);
/** DECIMAL(38,12) leaves 26 integer digits. */
const MAX_ABS_PICOCENTS = 10n ** 38n - 1n;

export type Picocents = bigint;

/**
 * One record's cost or revenue is at most this many cents in absolute value (under $100 billion). With
 * DECIMAL(38,12) holding 26 integer digits, 10^13 records at the limit still sum without overflow, so
 * every total the API computes fits its column (a sum past it would be an error, never a wrap).
 */
export const MAX_RECORD_AMOUNT_CENTS = 10n ** 13n;
const MAX_RECORD_PICOCENTS = MAX_RECORD_AMOUNT_CENTS * 10n ** 12n;

/** The reason `picocents` is too large for one record, or null when it fits. */
export function recordAmountProblem(picocents: Picocents): string | null {
  if (picocents <= MAX_RECORD_PICOCENTS && picocents >= -MAX_RECORD_PICOCENTS) return null;
  return `exceeds the per-record limit of ${MAX_RECORD_AMOUNT_CENTS} cents in absolute value`;
}

export type AmountParse = { ok: true; picocents: Picocents } | { ok: false; reason: string };

const DECIMAL_RE = /^([+-]?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$|^([+-]?)\.(\d+)(?:[eE]([+-]?\d+))?$/;

/**
 * Parses an exact decimal string (optionally with exponent) into picocents.
 * Rejects more than 12 decimal places rather than rounding: a string is the sender's exact intent.
 */
export function parseDecimalString(text: string): AmountParse {
  const trimmed = text.trim();
  const m = DECIMAL_RE.exec(trimmed);
  if (!m) return { ok: false, reason: `"${truncate(text)}" is not a decimal number` };
  const sign = m[1] ?? m[5] ?? '';
  const intPart = m[2] ?? '0';
  const fracPart = m[3] ?? m[6] ?? '';
  const exponent = Number(m[4] ?? m[7] ?? '0');
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 64) {
    return { ok: false, reason: `"${truncate(text)}" has an exponent out of range` };
  }
  // digits × 10^(exponent − fracLen), then scaled by 10^12
  let digits = BigInt(intPart + fracPart);
  let shift = exponent - fracPart.length + MONEY_SCALE;
  if (shift < 0) {
    const divisor = 10n ** BigInt(-shift);
    if (digits % divisor !== 0n) {
      return { ok: false, reason: `"${truncate(text)}" has more than ${MONEY_SCALE} decimal places` };
    }
    digits /= divisor;
    shift = 0;
  }
  let picocents = digits * 10n ** BigInt(shift);
  if (sign === '-') picocents = -picocents;
  return checkRange(picocents, text);
}

/**
 * A binary float is already inexact, so it is read through its shortest round-trip decimal
 * form and rounded half-even to 12 places (e.g. 0.1 + 0.2 → 0.3 + 4e-17 → 0.300000000000).
 */
export function parseFloatAmount(value: number): AmountParse {
  if (!Number.isFinite(value)) return { ok: false, reason: `${value} is not a finite number` };
  if (Number.isInteger(value) && Number.isSafeInteger(value)) {
    return checkRange(BigInt(value) * SCALE_FACTOR, String(value));
  }
  const exact = parseDecimalString(value.toExponential());
  if (exact.ok) return exact;
  // More than 12 places: round the shortest decimal representation half-even.
  return checkRange(roundHalfEven(value.toExponential()), String(value));
}

export function parseAmount(value: unknown): AmountParse {
  if (typeof value === 'number') return parseFloatAmount(value);
  if (typeof value === 'bigint') return checkRange(value * SCALE_FACTOR, value.toString());
  if (typeof value === 'string') return parseDecimalString(value);
  return { ok: false, reason: `expected a number or a decimal string, got ${describe(value)}` };
}

/** Exact decimal text, trailing zeros trimmed: 1500000000000n → "1.5". */
export function formatPicocents(picocents: Picocents): string {
  const negative = picocents < 0n;
  const abs = negative ? -picocents : picocents;
  const whole = abs / SCALE_FACTOR;
  const frac = (abs % SCALE_FACTOR).toString().padStart(MONEY_SCALE, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/** For JSON responses: the nearest float to the exact value (exact for up to ~15 significant digits). */
export function picocentsToNumber(picocents: Picocents): number {
  return Number(formatPicocents(picocents));
}

function roundHalfEven(exponential: string): Picocents {
  const [mantissa = '0', expText = '0'] = exponential.split('e');
  const negative = mantissa.startsWith('-');
  const [intPart = '0', fracPart = ''] = mantissa.replace('-', '').split('.');
  const digits = BigInt(intPart + fracPart);
  const shift = Number(expText) - fracPart.length + MONEY_SCALE;
  let result: bigint;
  if (shift >= 0) {
    result = digits * 10n ** BigInt(shift);
  } else {
    const divisor = 10n ** BigInt(-shift);
    const quotient = digits / divisor;
    const remainder = digits % divisor;
    const twice = remainder * 2n;
    const roundUp = twice > divisor || (twice === divisor && quotient % 2n === 1n);
    result = roundUp ? quotient + 1n : quotient;
  }
  return negative ? -result : result;
}

function checkRange(picocents: Picocents, text: string): AmountParse {
  if (picocents > MAX_ABS_PICOCENTS || picocents < -MAX_ABS_PICOCENTS) {
    return { ok: false, reason: `${truncate(text)} is out of range (at most 26 integer digits)` };
  }
  return { ok: true, picocents };
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
