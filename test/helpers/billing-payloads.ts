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
