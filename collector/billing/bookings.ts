/**
 * What a billing webhook books (CONTRACT.md §9), whoever sent it: the pure result of reading a verified Polar or
 * Stripe event, applied by store/billing-writes.ts. Amounts are integers in the currency's minor unit, as both
 * providers send them; ids make every booking idempotent:
 * - `revenue`: one event per paid order / invoice (`<provider>:<object>:<id>:paid`), stored once however often
 *   the webhook comes;
 * - `refund`: the provider's cumulative refunded amount; only the part not booked before is booked, negative, as
 *   an event whose id carries the cumulative (`<key>:refunded:<cumulative>`) — so re-delivered, re-ordered or
 *   early refund webhooks (before the payment's) all end at the same total;
 * - `customer`: an upsert (name, email, created_at) of the customer id revenue is booked under;
 * - `ignored`: a type costtrace does not book (acknowledged, so the sender stops retrying).
 */
import type { CustomerUpsert } from '../store/customers.ts';

export type Provider = 'polar' | 'stripe';

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
}

export interface RefundBooking {
  readonly kind: 'refund';
  /** The paid object, e.g. `polar:order:<id>`: refund events are `<key>:refunded:<cumulative>`. */
  readonly key: string;
  readonly name: string;
  readonly customerId: string;
  readonly providerCustomerId: string | null;
  readonly refundedMinorCumulative: bigint;
  readonly currency: string;
  readonly atMicros: bigint;
  readonly metadata: Readonly<Record<string, string>>;
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

export const micros = (d: Date): bigint => BigInt(d.getTime()) * 1000n;

/** A verified webhook's booking, or why it was refused (401: signature; 400: payload). */
export type WebhookRead =
  | { readonly ok: true; readonly deliveryId: string; readonly booking: Booking }
  | { readonly ok: false; readonly status: 400 | 401; readonly reason: string };
