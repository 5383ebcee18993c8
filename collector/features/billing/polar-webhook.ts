/**
 * Polar webhooks (docs/contract.md §9), verified as Polar's own SDK does (`@polar-sh/sdk/webhooks` `validateEvent`:
 * Standard Webhooks signature over the raw body, timestamp within 5 minutes either way, then the payload read
 * with the SDK's schemas — the schema per event type). `order.paid` books the order's `net_amount` (cents, before
 * tax) at its `created_at`; `order.refunded` the refunded part (`refunded_amount`, before tax: Polar reports
 * refunded tax apart) not booked before, capped at the order's `net_amount`; `customer.created` /
 * `customer.updated` upsert the customer. The customer is the Polar customer's `external_id`, else its Polar id.
 * Every other type is acknowledged and ignored. A signed body that is not a Polar event (not JSON, not the SDK's
 * shape) → 400; a value over a record limit (§12) → 422 (bookings.ts LimitCheck).
 */
import { SDKValidationError } from '@polar-sh/sdk/models/errors/sdkvalidationerror.js';
import { validateEvent, WebhookVerificationError } from '@polar-sh/sdk/webhooks';
import { MAX_CUSTOMER_EMAIL_LENGTH, MAX_CUSTOMER_NAME_LENGTH } from '../../core/limits.ts';
import { MAX_METADATA_STRING_LENGTH } from '../../events/validate.ts';
import { cappedRefund, LimitCheck, type Loc, MAX_REFUND_DIGITS, micros, type WebhookRead } from './bookings.ts';

const BOOKED = new Set(['order.paid', 'order.refunded', 'customer.created', 'customer.updated']);
const DATA = ['body', 'data'] as const;
const AMOUNT_FIELDS = { amount: [...DATA, 'net_amount'], currency: [...DATA, 'currency'] } as const;

/** The costtrace customer id: the Polar customer's non-empty `external_id`, else its Polar id (checked). */
function customerId(
  externalId: string | null | undefined,
  polarId: string,
  check: LimitCheck,
  locs: { readonly external: Loc; readonly id: Loc },
): string {
  return externalId ? check.id(externalId, locs.external) : check.id(polarId, locs.id);
}

/** A limit check that starts with the delivery id (it is stored, to answer a re-delivery as a duplicate). */
function checkDelivery(deliveryId: string): LimitCheck {
  const check = new LimitCheck();
  check.id(deliveryId, ['header', 'webhook-id']);
  return check;
}

const ORDER_CUSTOMER = { external: [...DATA, 'customer', 'external_id'], id: [...DATA, 'customer_id'] } as const;

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
    // The signature held (Standard Webhooks verifies it before parsing): whatever else fails is the body's shape.
    if (err instanceof SDKValidationError) {
      const type = typeOf(body);
      if (type === null)
        return { ok: false, status: 400, reason: 'malformed webhook payload: not a Polar webhook event' };
      // An unknown type is acknowledged, a booked one must parse.
      if (!BOOKED.has(type)) return checkDelivery(deliveryId).read(deliveryId, { kind: 'ignored', type });
      return { ok: false, status: 400, reason: `malformed ${type} payload: ${detail(err)}` };
    }
    if (err instanceof SyntaxError) return { ok: false, status: 400, reason: 'malformed webhook payload: not JSON' };
    throw err;
  }
  const check = checkDelivery(deliveryId);
  switch (event.type) {
    case 'order.paid': {
      const o = event.data;
      const orderId = check.partOfEventId(o.id, 'polar:order:', ':paid', [...DATA, 'id']);
      return check.read(deliveryId, {
        kind: 'revenue',
        eventId: `polar:order:${orderId}:paid`,
        name: 'order.paid',
        customerId: customerId(o.customer.externalId, o.customerId, check, ORDER_CUSTOMER),
        providerCustomerId: null,
        amountMinor: check.amount(o.netAmount, AMOUNT_FIELDS.amount),
        currency: o.currency,
        atMicros: check.time(micros(o.createdAt), [...DATA, 'created_at']),
        metadata: {
          provider: 'polar',
          order_id: orderId,
          billing_reason: check.text(String(o.billingReason), MAX_METADATA_STRING_LENGTH, [...DATA, 'billing_reason']),
        },
        fields: AMOUNT_FIELDS,
      });
    }
    case 'order.refunded': {
      const o = event.data;
      const orderId = check.partOfEventId(o.id, 'polar:order:', `:refunded:${MAX_REFUND_DIGITS}`, [...DATA, 'id']);
      const paid = check.amount(o.netAmount, AMOUNT_FIELDS.amount);
      const refunded = check.amount(o.refundedAmount, [...DATA, 'refunded_amount']);
      return check.read(deliveryId, {
        kind: 'refund',
        key: `polar:order:${orderId}`,
        name: 'order.refunded',
        customerId: customerId(o.customer.externalId, o.customerId, check, ORDER_CUSTOMER),
        providerCustomerId: null,
        // A refund never books more than the order paid (before tax, as both amounts are).
        refundedMinorCumulative: cappedRefund(refunded, paid),
        currency: o.currency,
        atMicros: check.time(micros(event.timestamp), ['body', 'timestamp']),
        metadata: { provider: 'polar', order_id: orderId },
        fields: { amount: [...DATA, 'refunded_amount'], currency: AMOUNT_FIELDS.currency },
      });
    }
    case 'customer.created':
    case 'customer.updated': {
      const c = event.data;
      return check.read(deliveryId, {
        kind: 'customer',
        upsert: {
          externalId: customerId(c.externalId, c.id, check, {
            external: [...DATA, 'external_id'],
            id: [...DATA, 'id'],
          }),
          name: check.text(c.name ?? null, MAX_CUSTOMER_NAME_LENGTH, [...DATA, 'name']),
          email: check.text(c.email ?? null, MAX_CUSTOMER_EMAIL_LENGTH, [...DATA, 'email']),
          createdAtMicros: check.time(micros(c.createdAt), [...DATA, 'created_at']),
        },
        alias: null,
      });
    }
    default:
      return check.read(deliveryId, { kind: 'ignored', type: event.type });
  }
}

function typeOf(body: string): string | null {
  try {
    const type = (JSON.parse(body) as { type?: unknown } | null)?.type;
    return typeof type === 'string' ? type : null;
  } catch {
    return null;
  }
}

/** The SDK's schema problems (zod issues: path and message), the first few, bounded. */
function detail(err: SDKValidationError): string {
  const cause = (err as { cause?: unknown }).cause as { issues?: unknown; message?: unknown } | undefined;
  type Issue = { path?: unknown; message?: unknown; expected?: unknown; format?: unknown };
  const issues = Array.isArray(cause?.issues) ? (cause.issues as Issue[]) : [];
  const what = (i: Issue) =>
    typeof i.expected === 'string'
      ? `expected ${i.expected}`
      : typeof i.format === 'string'
        ? `not a ${i.format}`
        : String(i.message);
  const listed = issues.slice(0, 3).map((i) => `${Array.isArray(i.path) ? i.path.join('.') : ''}: ${what(i)}`);
  const message = listed.length > 0 ? listed.join('; ') : String(cause?.message ?? err.message);
  return message.length > 500 ? `${message.slice(0, 500)}…` : message;
}
