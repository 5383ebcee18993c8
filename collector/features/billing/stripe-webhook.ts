/**
 * Stripe webhooks (docs/contract.md §9), verified with the official `stripe` library (`webhooks.signature.verifyHeader`
 * over the raw body: `stripe-signature` HMAC and a 300-second age tolerance) plus what the library leaves out: a
 * timestamp more than WEBHOOK_FUTURE_SKEW_SECONDS ahead of our clock is refused too. The body is then read against
 * a JSON Schema per booked event type (the fields costtrace reads; the rest is ignored): not the shape → 400.
 * `invoice.paid` books `amount_paid − tax` at the invoice's paid time (tax = Σ `total_taxes[].amount`, the field of
 * the API version the library targets; `tax` in older payloads); `charge.refunded` the refunded part
 * (`amount_refunded`, cumulative, capped at the charge's `amount`) not booked before; `customer.created` /
 * `customer.updated` upsert the customer and remember which costtrace customer the Stripe id stands for. The
 * customer is the Stripe customer's `metadata.external_id`, else its Stripe id (an invoice names only the id: the
 * remembered mapping is applied when it is booked). A value over a record limit (§12) → 422 (bookings.ts).
 */
import { Ajv, type ErrorObject } from 'ajv';
import Stripe from 'stripe';
import { MAX_CUSTOMER_EMAIL_LENGTH, MAX_CUSTOMER_NAME_LENGTH, WEBHOOK_FUTURE_SKEW_SECONDS } from '../../core/limits.ts';
import {
  cappedRefund,
  LimitCheck,
  type Loc,
  MAX_REFUND_DIGITS,
  type Provider,
  secondsToMicros,
  type WebhookRead,
} from './bookings.ts';

/** Seconds a signed Stripe timestamp may be old (the library's default). */
export const STRIPE_TOLERANCE_SECONDS = 300;

/** Every Stripe event: what costtrace reads of the envelope (the delivery id, the type, when it happened). */
const STRIPE_EVENT_SCHEMA = {
  type: 'object',
  required: ['id', 'type', 'created', 'data'],
  properties: {
    id: { type: 'string' },
    type: { type: 'string' },
    created: { type: 'integer' },
    data: { type: 'object', required: ['object'], properties: { object: { type: 'object' } } },
  },
} as const;

/** A customer named by its id, or expanded (its `metadata.external_id` then names the costtrace customer). */
const CUSTOMER_REF = {
  // `required` and `properties` apply to the object form only.
  type: ['string', 'object'],
  required: ['id'],
  properties: {
    id: { type: 'string' },
    metadata: { type: 'object', properties: { external_id: { type: 'string' } } },
  },
} as const;

const CUSTOMER = {
  type: 'object',
  required: ['id'],
  properties: {
    id: { type: 'string' },
    name: { type: ['string', 'null'] },
    email: { type: ['string', 'null'] },
    created: { type: 'integer' },
    metadata: { type: 'object', properties: { external_id: { type: 'string' } } },
  },
} as const;

/** `data.object` of each booked type: only the fields costtrace reads (the rest of a delivery is ignored). */
const STRIPE_OBJECT_SCHEMAS: Record<string, object> = {
  'invoice.paid': {
    type: 'object',
    required: ['id', 'customer', 'amount_paid', 'currency'],
    properties: {
      id: { type: 'string' },
      customer: CUSTOMER_REF,
      amount_paid: { type: 'integer' },
      currency: { type: 'string' },
      total_taxes: {
        type: ['array', 'null'],
        items: { type: 'object', required: ['amount'], properties: { amount: { type: 'integer' } } },
      },
      tax: { type: ['integer', 'null'] },
      status_transitions: { type: ['object', 'null'], properties: { paid_at: { type: ['integer', 'null'] } } },
    },
  },
  'charge.refunded': {
    type: 'object',
    required: ['id', 'customer', 'amount', 'amount_refunded', 'currency'],
    properties: {
      id: { type: 'string' },
      customer: CUSTOMER_REF,
      amount: { type: 'integer' },
      amount_refunded: { type: 'integer' },
      currency: { type: 'string' },
    },
  },
  'customer.created': CUSTOMER,
  'customer.updated': CUSTOMER,
};

const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
const validateEnvelope = ajv.compile(STRIPE_EVENT_SCHEMA);
const validateObject = new Map(Object.entries(STRIPE_OBJECT_SCHEMAS).map(([type, s]) => [type, ajv.compile(s)]));

type Obj = Record<string, unknown>;
interface StripeEvent {
  readonly id: string;
  readonly type: string;
  readonly created: number;
  readonly data: { readonly object: Obj };
}

const OBJECT = ['body', 'data', 'object'] as const;

/** The costtrace customer of a Stripe id or expanded customer: its non-empty `metadata.external_id`, else its id. */
function customerOf(v: unknown, check: LimitCheck, at: Loc): { id: string; externalId: string | null } {
  const c = typeof v === 'string' ? { id: v } : (v as { id: string; metadata?: { external_id?: string } });
  const external = c.metadata?.external_id;
  return {
    id: check.id(c.id, typeof v === 'string' ? at : [...at, 'id']),
    externalId: external ? check.id(external, [...at, 'metadata', 'external_id']) : null,
  };
}

export function readStripeWebhook(
  body: string,
  signature: string | undefined,
  secret: string,
  nowMs: number = Date.now(),
): WebhookRead {
  if (!signature) return { ok: false, status: 401, reason: 'missing stripe-signature header' };
  const verify = Stripe.webhooks.signature;
  if (verify === null) throw new Error('the stripe library has no signature helper');
  try {
    verify.verifyHeader(body, signature, secret, STRIPE_TOLERANCE_SECONDS, undefined, nowMs);
  } catch (err) {
    if (err instanceof Stripe.errors.StripeSignatureVerificationError) {
      return { ok: false, status: 401, reason: `webhook signature not verified: ${err.message}` };
    }
    throw err;
  }
  // The signature held, so its timestamp is the one the library read: the last `t=` item.
  const signedAt = signature
    .split(',')
    .reduce((t, item) => (item.startsWith('t=') ? Number.parseInt(item.slice(2), 10) : t), 0);
  if (!Number.isFinite(signedAt) || signedAt > Math.floor(nowMs / 1000) + WEBHOOK_FUTURE_SKEW_SECONDS) {
    const reason = `webhook signature not verified: timestamp is more than ${WEBHOOK_FUTURE_SKEW_SECONDS} s in the future`;
    return { ok: false, status: 401, reason };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { ok: false, status: 400, reason: 'malformed Stripe event: not JSON' };
  }
  if (!validateEnvelope(parsed)) {
    return { ok: false, status: 400, reason: `malformed Stripe event: ${problems(validateEnvelope.errors)}` };
  }
  const event = parsed as unknown as StripeEvent;
  const validate = validateObject.get(event.type);
  if (validate === undefined) {
    const check = new LimitCheck();
    return check.read(check.id(event.id, ['body', 'id']), { kind: 'ignored', type: event.type });
  }
  if (!validate(event.data.object)) {
    return {
      ok: false,
      status: 400,
      reason: `malformed ${event.type} payload: ${problems(validate.errors, '/data/object')}`,
    };
  }
  return book(event, new LimitCheck());
}

function book(event: StripeEvent, check: LimitCheck): WebhookRead {
  const deliveryId = check.id(event.id, ['body', 'id']);
  const object = event.data.object;
  const provider: Provider = 'stripe';
  const id = object.id as string;
  const currency = object.currency as string;
  switch (event.type) {
    case 'invoice.paid': {
      const customer = customerOf(object.customer, check, [...OBJECT, 'customer']);
      const invoiceId = check.partOfEventId(id, 'stripe:invoice:', ':paid', [...OBJECT, 'id']);
      const paidLoc = [...OBJECT, 'amount_paid'];
      const paid = check.amount(object.amount_paid as number, paidLoc);
      const taxes = Array.isArray(object.total_taxes)
        ? (object.total_taxes as Array<{ amount: number }>).reduce((s, t) => s + BigInt(t.amount), 0n)
        : BigInt((object.tax as number | null | undefined) ?? 0);
      // A payment is never negative: tax beyond the amount paid is refused, not booked as a refund.
      if (paid >= 0n && paid - taxes < 0n) check.amount(paid - taxes, paidLoc, 'minus tax must not be negative');
      const paidAt = (object.status_transitions as { paid_at?: number | null } | null | undefined)?.paid_at;
      return check.read(deliveryId, {
        kind: 'revenue',
        eventId: `stripe:invoice:${invoiceId}:paid`,
        name: 'invoice.paid',
        customerId: customer.externalId ?? customer.id,
        providerCustomerId: customer.externalId === null ? customer.id : null,
        amountMinor: paid - taxes,
        currency,
        atMicros:
          typeof paidAt === 'number'
            ? check.time(secondsToMicros(paidAt), [...OBJECT, 'status_transitions', 'paid_at'])
            : check.time(secondsToMicros(event.created), ['body', 'created']),
        metadata: { provider, invoice_id: invoiceId, stripe_customer: customer.id },
        fields: { amount: paidLoc, currency: [...OBJECT, 'currency'] },
      });
    }
    case 'charge.refunded': {
      const customer = customerOf(object.customer, check, [...OBJECT, 'customer']);
      const chargeId = check.partOfEventId(id, 'stripe:charge:', `:refunded:${MAX_REFUND_DIGITS}`, [...OBJECT, 'id']);
      const amount = check.amount(object.amount as number, [...OBJECT, 'amount']);
      const refundedLoc = [...OBJECT, 'amount_refunded'];
      const refunded = check.amount(object.amount_refunded as number, refundedLoc);
      return check.read(deliveryId, {
        kind: 'refund',
        key: `stripe:charge:${chargeId}`,
        name: 'charge.refunded',
        customerId: customer.externalId ?? customer.id,
        providerCustomerId: customer.externalId === null ? customer.id : null,
        // A refund never books more than the charge was for.
        refundedMinorCumulative: cappedRefund(refunded, amount),
        currency,
        atMicros: check.time(secondsToMicros(event.created), ['body', 'created']),
        metadata: { provider, charge_id: chargeId, stripe_customer: customer.id },
        fields: { amount: refundedLoc, currency: [...OBJECT, 'currency'] },
      });
    }
    default: {
      // customer.created / customer.updated (the only other types with a schema)
      const customer = customerOf(object, check, OBJECT);
      const created = object.created as number | undefined;
      return check.read(deliveryId, {
        kind: 'customer',
        upsert: {
          externalId: customer.externalId ?? customer.id,
          name: check.text((object.name as string | null | undefined) ?? null, MAX_CUSTOMER_NAME_LENGTH, [
            ...OBJECT,
            'name',
          ]),
          email: check.text((object.email as string | null | undefined) ?? null, MAX_CUSTOMER_EMAIL_LENGTH, [
            ...OBJECT,
            'email',
          ]),
          createdAtMicros: created === undefined ? null : check.time(secondsToMicros(created), [...OBJECT, 'created']),
        },
        alias: customer.externalId === null ? null : { provider, providerCustomerId: customer.id },
      });
    }
  }
}

/** Ajv's problems as one bounded line: `/data/object/amount_paid must be integer; …` (the first few). */
function problems(errors: ErrorObject[] | null | undefined, prefix = ''): string {
  const list = (errors ?? []).slice(0, 3).map((e) => `${prefix}${e.instancePath} ${e.message ?? 'is invalid'}`.trim());
  const more = (errors?.length ?? 0) > list.length ? ` (${errors?.length} problems)` : '';
  return `${list.join('; ')}${more}`;
}
