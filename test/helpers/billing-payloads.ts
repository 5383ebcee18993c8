/**
 * Webhook payloads shaped as Polar and Stripe send them (Polar: every field its SDK's schema requires, snake_case
 * as on the wire), and signing with the providers' own libraries: Standard Webhooks for Polar (the secret as
 * Polar's SDK uses it: its UTF-8 bytes, base64) and `stripe`'s test header for Stripe.
 */

import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';

export function polarCustomer(o: {
  id: string;
  externalId: string | null;
  name?: string;
  email?: string;
  createdAt?: string;
}) {
  return {
    id: o.id,
    created_at: o.createdAt ?? '2026-01-02T03:04:05Z',
    modified_at: null,
    metadata: {},
    external_id: o.externalId,
    email: o.email ?? `${o.id}@example.test`,
    email_verified: true,
    type: 'individual',
    name: o.name ?? null,
    billing_name: null,
    billing_address: null,
    tax_id: null,
    organization_id: 'org-1',
    deleted_at: null,
    avatar_url: null,
  };
}

export function polarOrder(o: {
  id: string;
  customer: ReturnType<typeof polarCustomer>;
  netAmount: number;
  taxAmount?: number;
  refundedAmount?: number;
  currency?: string;
  createdAt?: string;
}) {
  const tax = o.taxAmount ?? 0;
  return {
    id: o.id,
    created_at: o.createdAt ?? '2026-03-05T10:00:00Z',
    modified_at: null,
    status: (o.refundedAmount ?? 0) > 0 ? 'partially_refunded' : 'paid',
    paid: true,
    subtotal_amount: o.netAmount,
    discount_amount: 0,
    net_amount: o.netAmount,
    tax_amount: tax,
    total_amount: o.netAmount + tax,
    applied_balance_amount: 0,
    due_amount: 0,
    refunded_amount: o.refundedAmount ?? 0,
    refunded_tax_amount: 0,
    currency: o.currency ?? 'usd',
    billing_reason: 'purchase',
    billing_name: null,
    billing_address: null,
    invoice_number: null,
    is_invoice_generated: false,
    receipt_number: null,
    customer_id: o.customer.id,
    product_id: null,
    discount_id: null,
    subscription_id: null,
    checkout_id: null,
    metadata: {},
    platform_fee_amount: 0,
    platform_fee_currency: null,
    customer: o.customer,
    product: null,
    discount: null,
    subscription: null,
    items: [],
    description: 'Pro plan',
    refundable_amount: o.netAmount - (o.refundedAmount ?? 0),
    refundable_tax_amount: tax,
  };
}

/** Standard Webhooks headers for `payload`, signed now (or at `at`) with Polar's secret. */
export function signPolar(payload: string, secret: string, id: string, at: Date = new Date()): Record<string, string> {
  const wh = new Webhook(Buffer.from(secret, 'utf-8').toString('base64'));
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': wh.sign(id, at, payload),
  };
}

export function stripeEvent(id: string, type: string, object: Record<string, unknown>, created = 1772704800) {
  return { id, object: 'event', api_version: '2026-10-28.endive', created, type, livemode: false, data: { object } };
}

/** The `stripe-signature` header for `payload` (the library's own test helper), at `timestamp` (s) or now. */
export function signStripe(payload: string, secret: string, timestamp?: number): string {
  return Stripe.webhooks.generateTestHeaderString({
    payload,
    secret,
    ...(timestamp === undefined ? {} : { timestamp }),
  });
}

export interface WebhookAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** POSTs `body` (exact text) to the collector's Polar webhook, signed as Polar does (at `at`, default now). */
export async function postPolar(
  url: string,
  secret: string,
  body: string,
  id: string,
  at: Date = new Date(),
): Promise<WebhookAnswer> {
  const res = await fetch(`${url}/v1/webhooks/polar`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signPolar(body, secret, id, at) },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** POSTs `body` (exact text) to the collector's Stripe webhook, signed as Stripe does (at `timestamp` s, or now). */
export async function postStripe(
  url: string,
  secret: string,
  body: string,
  timestamp?: number,
): Promise<WebhookAnswer> {
  const res = await fetch(`${url}/v1/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signStripe(body, secret, timestamp) },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A Stripe invoice as `invoice.paid` carries it (the fields costtrace reads, plus what Stripe always sends). */
export function stripeInvoice(o: {
  id: string;
  customer: string | Record<string, unknown>;
  amountPaid: number;
  taxes?: number[];
  paidAt?: number;
  currency?: string;
}) {
  return {
    id: o.id,
    object: 'invoice',
    customer: o.customer,
    amount_paid: o.amountPaid,
    currency: o.currency ?? 'usd',
    total_taxes: (o.taxes ?? []).map((amount) => ({ amount, tax_behavior: 'exclusive', tax_rate_details: null })),
    status_transitions: { paid_at: o.paidAt ?? 1772712000 }, // 2026-03-05T12:00:00Z
  };
}

/** A Stripe charge as `charge.refunded` carries it. */
export function stripeCharge(o: {
  id: string;
  customer: string | Record<string, unknown>;
  amount: number;
  amountRefunded: number;
}) {
  return {
    id: o.id,
    object: 'charge',
    customer: o.customer,
    amount: o.amount,
    amount_refunded: o.amountRefunded,
    currency: 'usd',
  };
}
