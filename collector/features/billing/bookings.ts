/**
 * What a billing webhook books (docs/contract.md §9), whoever sent it: the pure result of reading a verified Polar or
 * Stripe event, applied by features/billing/billing-writes.ts. Amounts are integers in the currency's minor unit, as both
 * providers send them; ids make every booking idempotent:
 * - `revenue`: one event per paid order / invoice (`<provider>:<object>:<id>:paid`), stored once however often
 *   the webhook comes;
 * - `refund`: the provider's cumulative refunded amount; only the part not booked before is booked, negative, as
 *   an event whose id carries the cumulative (`<key>:refunded:<cumulative>`) — so re-delivered, re-ordered or
 *   early refund webhooks (before the payment's) all end at the same total;
 * - `customer`: an upsert (name, email, created_at) of the customer id revenue is booked under;
 * - `ignored`: a type costtrace does not book (acknowledged, so the sender stops retrying).
 *
 * Signed webhooks obey the record limits of spans and events (docs/contract.md §12, v3), checked here with the
 * field's place in the body: ids (customer ids, and the event ids built from provider ids) 1–MAX_ID_LENGTH
 * characters, amounts exact integers from 0 to the per-record limit in minor units (and again in USD once
 * converted, features/billing/billing-writes.ts), times from 1970 to 2^64 ns. A delivery over a limit is refused with 422,
 * as the events API refuses a limit: it is the provider's shape, but costtrace cannot store it (a body that is
 * not the provider's shape is a 400).
 */
import { MAX_RECORD_AMOUNT_CENTS, recordAmountProblem } from '../../../src/money.ts';
import type { CustomerUpsert } from '../../../src/records.ts';
import { canonicalText } from '../../../src/text.ts';
import { MAX_ID_LENGTH, MAX_TIME_UNIX_NANO } from '../../core/limits.ts';

export type Provider = 'polar' | 'stripe';

/** Where a value is in the delivery, FastAPI style (`["body", "data", "net_amount"]`). */
export type Loc = ReadonlyArray<string | number>;

/** One value over a record limit (answered 422, listed like the events API's problems). */
export interface LimitProblem {
  readonly loc: Array<string | number>;
  readonly msg: string;
  readonly type: 'value_error';
}

/** Where a booked amount and its currency came from, to name them when the store refuses them. */
export interface AmountFields {
  readonly amount: Loc;
  readonly currency: Loc;
}

export interface RevenueBooking {
  readonly kind: 'revenue';
  readonly eventId: string;
  readonly name: string;
  readonly customerId: string;
  /** Stripe: the customer was named only by its Stripe id (= customerId): book under its remembered mapping. */
  readonly providerCustomerId: string | null;
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly atMicros: bigint;
  readonly metadata: Readonly<Record<string, string>>;
  readonly fields: AmountFields;
}

export interface RefundBooking {
  readonly kind: 'refund';
  /** The paid object, e.g. `polar:order:<id>`: refund events are `<key>:refunded:<cumulative>`. */
  readonly key: string;
  readonly name: string;
  readonly customerId: string;
  readonly providerCustomerId: string | null;
  /** Capped at what was paid for the object (a refund never books more than its payment). */
  readonly refundedMinorCumulative: bigint;
  readonly currency: string;
  readonly atMicros: bigint;
  readonly metadata: Readonly<Record<string, string>>;
  readonly fields: AmountFields;
}

export interface CustomerBooking {
  readonly kind: 'customer';
  readonly upsert: CustomerUpsert;
  /** Stripe: remember which costtrace customer a Stripe customer id stands for (invoices name only the id). */
  readonly alias: { readonly provider: Provider; readonly providerCustomerId: string } | null;
}

export type Booking =
  | RevenueBooking
  | RefundBooking
  | CustomerBooking
  | { readonly kind: 'ignored'; readonly type: string };

/** A verified webhook's booking, or why it was refused (401: signature; 400: not the shape; 422: over a limit). */
export type WebhookRead =
  | { readonly ok: true; readonly deliveryId: string; readonly booking: Booking }
  | { readonly ok: false; readonly status: 400 | 401; readonly reason: string }
  | { readonly ok: false; readonly status: 422; readonly problems: readonly LimitProblem[] };

const MAX_TIME_MICROS = MAX_TIME_UNIX_NANO / 1000n;
export const TIME_RANGE = 'must be from 1970-01-01 to 2554-07-21T23:34:33Z';
export const ID_LENGTH = `must be 1 to ${MAX_ID_LENGTH} characters`;

/**
 * The record limits of one delivery, checked as its reader takes each value (pure): every problem is
 * collected, and `read()` answers the booking or the 422 listing them all.
 */
export class LimitCheck {
  private readonly problems: LimitProblem[] = [];

  private add(loc: Loc, msg: string): void {
    this.problems.push({ loc: [...loc], msg, type: 'value_error' });
  }

  /** A customer or delivery id: 1–MAX_ID_LENGTH characters, in the canonical text form of every id (§12). */
  id(value: string, loc: Loc): string {
    if (value.length === 0 || value.length > MAX_ID_LENGTH) this.add(loc, ID_LENGTH);
    return canonicalText(value);
  }

  /**
   * A provider id that becomes part of a stored event id, `<prefix><id><suffix>` (the longest suffix it can
   * get): that whole id must fit MAX_ID_LENGTH too. Returns the id in canonical text form.
   */
  partOfEventId(value: string, prefix: string, suffix: string, loc: Loc): string {
    if (value.length === 0) this.add(loc, ID_LENGTH);
    else if (prefix.length + value.length + suffix.length > MAX_ID_LENGTH) {
      this.add(loc, `makes the event id longer than ${MAX_ID_LENGTH} characters`);
    }
    return canonicalText(value);
  }

  /** A text kept as is (a name, an email, a metadata value): at most `max` characters. */
  text<T extends string | null>(value: T, max: number, loc: Loc): T {
    if (value === null) return value;
    if (value.length > max) this.add(loc, `must be at most ${max} characters`);
    return canonicalText(value) as T;
  }

  /**
   * An amount in the currency's minor unit (an integer, per the schema): not negative, and within the per-record
   * limit counted as cents — exact for USD; other currencies are checked again in USD once converted.
   */
  amount(value: number | bigint, loc: Loc, negative = 'must not be negative'): bigint {
    const minor = BigInt(value);
    if (minor < 0n) this.add(loc, negative);
    else {
      const tooLarge = recordAmountProblem(minor * 10n ** 12n);
      if (tooLarge !== null) this.add(loc, tooLarge);
    }
    return minor;
  }

  /** A time in µs since the epoch (NaN: an invalid date), within what the store holds: 1970 up to 2^64 ns. */
  time(micros: bigint | null, loc: Loc): bigint {
    if (micros === null || micros < 0n || micros > MAX_TIME_MICROS) {
      this.add(loc, TIME_RANGE);
      return 0n;
    }
    return micros;
  }

  read(deliveryId: string, booking: Booking): WebhookRead {
    if (this.problems.length > 0) return { ok: false, status: 422, problems: this.problems };
    return { ok: true, deliveryId, booking };
  }
}

/** µs since the epoch of a date, or null when it is not a real instant. */
export const micros = (d: Date): bigint | null => (Number.isFinite(d.getTime()) ? BigInt(d.getTime()) * 1000n : null);
/** µs since the epoch of whole Unix seconds (an integer, per the schema). */
export const secondsToMicros = (s: number): bigint => BigInt(s) * 1_000_000n;
/** The largest cumulative refund, for the longest refund event id (`<key>:refunded:<cumulative>`). */
export const MAX_REFUND_DIGITS = String(MAX_RECORD_AMOUNT_CENTS);

/** The cumulative refund to book: the provider's, capped at what was paid for the object (never more). */
export const cappedRefund = (refundedMinor: bigint, paidMinor: bigint): bigint =>
  refundedMinor > paidMinor ? paidMinor : refundedMinor;
