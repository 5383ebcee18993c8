/**
 * Polar webhooks (CONTRACT.md §9), verified as Polar's own SDK does (`@polar-sh/sdk/webhooks` `validateEvent`:
 * Standard Webhooks signature over the raw body, timestamp within 5 minutes, then the payload read with the SDK's
 * schemas). `order.paid` books the order's `net_amount` (cents, before tax) at its `created_at`;
 * `order.refunded` the refunded part (`refunded_amount`, before tax: Polar reports refunded tax apart) not booked
 * before; `customer.created` / `customer.updated` upsert the customer. The customer is the Polar customer's
 * `external_id`, else its Polar id. Every other type is acknowledged and ignored.
 */
import { SDKValidationError } from '@polar-sh/sdk/models/errors/sdkvalidationerror.js';
import { validateEvent, WebhookVerificationError } from '@polar-sh/sdk/webhooks';
import { micros, type WebhookRead } from './bookings.ts';

const BOOKED = new Set(['order.paid', 'order.refunded', 'customer.created', 'customer.updated']);

export function readPolarWebhook(body: string, headers: Record<string, string>, secret: string): WebhookRead {
  const deliveryId = headers['webhook-id'];
  if (!deliveryId) return { ok: false, status: 400, reason: 'missing webhook-id header (Standard Webhooks)' };
  let event: ReturnType<typeof validateEvent>;
  try {
    event = validateEvent(body, headers, secret);
  } catch (err) {
    if (err instanceof WebhookVerificationError) {
      return { ok: false, status: 401, reason: `webhook signature not verified: ${err.message}` };
    }
    if (err instanceof SDKValidationError) {
      // The signature held (it is checked first): an unknown type is acknowledged, a booked one must parse.
      const type = typeOf(body);
      if (type !== null && !BOOKED.has(type)) return { ok: true, deliveryId, booking: { kind: 'ignored', type } };
      return { ok: false, status: 400, reason: `malformed ${type ?? 'webhook'} payload: ${detail(err)}` };
    }
    throw err;
  }
  switch (event.type) {
    case 'order.paid': {
      const o = event.data;
      return {
        ok: true,
        deliveryId,
        booking: {
          kind: 'revenue',
          eventId: `polar:order:${o.id}:paid`,
          name: 'order.paid',
          customerId: o.customer.externalId ?? o.customerId,
          providerCustomerId: null,
          amountMinor: BigInt(o.netAmount),
          currency: o.currency,
          atMicros: micros(o.createdAt),
          metadata: { provider: 'polar', order_id: o.id, billing_reason: String(o.billingReason) },
        },
      };
    }
    case 'order.refunded': {
      const o = event.data;
      return {
        ok: true,
        deliveryId,
        booking: {
          kind: 'refund',
          key: `polar:order:${o.id}`,
          name: 'order.refunded',
          customerId: o.customer.externalId ?? o.customerId,
          providerCustomerId: null,
          refundedMinorCumulative: BigInt(o.refundedAmount),
          currency: o.currency,
          atMicros: micros(event.timestamp),
          metadata: { provider: 'polar', order_id: o.id },
        },
      };
    }
    case 'customer.created':
    case 'customer.updated': {
      const c = event.data;
      return {
        ok: true,
        deliveryId,
        booking: {
          kind: 'customer',
          upsert: {
            externalId: c.externalId ?? c.id,
            name: c.name ?? null,
            email: c.email ?? null,
            createdAtMicros: micros(c.createdAt),
          },
          alias: null,
        },
      };
    }
    default:
      return { ok: true, deliveryId, booking: { kind: 'ignored', type: event.type } };
  }
}

function typeOf(body: string): string | null {
  try {
    const type = (JSON.parse(body) as { type?: unknown }).type;
    return typeof type === 'string' ? type : null;
  } catch {
    return null;
  }
}

function detail(err: SDKValidationError): string {
  const cause = (err as { cause?: unknown }).cause;
  const message = cause instanceof Error ? cause.message : err.message;
  return message.length > 500 ? `${message.slice(0, 500)}…` : message;
}
