/**
 * Stripe webhooks (CONTRACT.md §9), verified with the official `stripe` library (`Stripe.webhooks.constructEvent`
 * over the raw body: `stripe-signature` HMAC and a 300-second timestamp tolerance). `invoice.paid` books
 * `amount_paid − tax` at the invoice's paid time (tax = Σ `total_taxes[].amount`, the field of the API version the
 * library targets; `tax` in older payloads); `charge.refunded` the refunded part (`amount_refunded`, cumulative) not
 * booked before; `customer.created` / `customer.updated` upsert the customer and remember which costtrace customer
 * the Stripe id stands for. The customer is the Stripe customer's `metadata.external_id`, else its Stripe id (an
 * invoice names only the id: the remembered mapping is applied when it is booked).
 */
import Stripe from 'stripe';
import type { Provider, WebhookRead } from './bookings.ts';

/** Seconds a signed Stripe timestamp may be old (the library's default). */
export const STRIPE_TOLERANCE_SECONDS = 300;

const seconds = (s: number): bigint => BigInt(s) * 1_000_000n;

type Obj = Record<string, unknown>;

/** A Stripe id, or an expanded object's id and `metadata.external_id`. */
function customerOf(v: unknown): { id: string; externalId: string | null } | null {
  if (typeof v === 'string') return { id: v, externalId: null };
  if (v !== null && typeof v === 'object' && typeof (v as Obj).id === 'string') {
    const external = ((v as Obj).metadata as Obj | undefined)?.external_id;
    return { id: (v as Obj).id as string, externalId: typeof external === 'string' && external ? external : null };
  }
  return null;
}

export function readStripeWebhook(body: string, signature: string | undefined, secret: string): WebhookRead {
  if (!signature) return { ok: false, status: 401, reason: 'missing stripe-signature header' };
  let event: Stripe.Event;
  try {
    event = Stripe.webhooks.constructEvent(body, signature, secret, STRIPE_TOLERANCE_SECONDS);
  } catch (err) {
    if (err instanceof Stripe.errors.StripeSignatureVerificationError) {
      return { ok: false, status: 401, reason: `webhook signature not verified: ${err.message}` };
    }
    return { ok: false, status: 400, reason: `malformed Stripe event: ${(err as Error).message}` };
  }
  const deliveryId = event.id;
  const object = event.data?.object as unknown as Obj | undefined;
  const bad = (what: string): WebhookRead => ({
    ok: false,
    status: 400,
    reason: `malformed ${event.type} payload: ${what}`,
  });
  const provider: Provider = 'stripe';
  switch (event.type) {
    case 'invoice.paid': {
      const customer = customerOf(object?.customer);
      const paid = object?.amount_paid;
      if (typeof object?.id !== 'string' || customer === null || !Number.isInteger(paid)) {
        return bad('needs id, customer and an integer amount_paid');
      }
      const taxes = Array.isArray(object.total_taxes)
        ? (object.total_taxes as Obj[]).reduce((s, t) => s + BigInt(Number(t.amount ?? 0)), 0n)
        : BigInt(Number(object.tax ?? 0));
      const paidAt = (object.status_transitions as Obj | undefined)?.paid_at;
      return {
        ok: true,
        deliveryId,
        booking: {
          kind: 'revenue',
          eventId: `stripe:invoice:${object.id}:paid`,
          name: 'invoice.paid',
          customerId: customer.externalId ?? customer.id,
          providerCustomerId: customer.externalId === null ? customer.id : null,
          amountMinor: BigInt(paid as number) - taxes,
          currency: String(object.currency ?? 'usd'),
          atMicros: seconds(typeof paidAt === 'number' ? paidAt : event.created),
          metadata: { provider, invoice_id: object.id, stripe_customer: customer.id },
        },
      };
    }
    case 'charge.refunded': {
      const customer = customerOf(object?.customer);
      const refunded = object?.amount_refunded;
      if (typeof object?.id !== 'string' || customer === null || !Number.isInteger(refunded)) {
        return bad('needs id, customer and an integer amount_refunded');
      }
      return {
        ok: true,
        deliveryId,
        booking: {
          kind: 'refund',
          key: `stripe:charge:${object.id}`,
          name: 'charge.refunded',
          customerId: customer.externalId ?? customer.id,
          providerCustomerId: customer.externalId === null ? customer.id : null,
          refundedMinorCumulative: BigInt(refunded as number),
          currency: String(object.currency ?? 'usd'),
          atMicros: seconds(event.created),
          metadata: { provider, charge_id: object.id, stripe_customer: customer.id },
        },
      };
    }
    case 'customer.created':
    case 'customer.updated': {
      const customer = customerOf(object);
      if (customer === null) return bad('needs a customer id');
      const created = object?.created;
      return {
        ok: true,
        deliveryId,
        booking: {
          kind: 'customer',
          upsert: {
            externalId: customer.externalId ?? customer.id,
            name: typeof object?.name === 'string' ? object.name : null,
            email: typeof object?.email === 'string' ? object.email : null,
            createdAtMicros: typeof created === 'number' ? seconds(created) : null,
          },
          alias: customer.externalId === null ? null : { provider, providerCustomerId: customer.id },
        },
      };
    }
    default:
      return { ok: true, deliveryId, booking: { kind: 'ignored', type: event.type } };
  }
}
