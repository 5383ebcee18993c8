/**
 * Revenue from billing webhooks (docs/contract.md §9) against a running collector, signed with the providers' own
 * libraries (Standard Webhooks for Polar, `stripe` for Stripe): every booked type, replays, re-ordered and early
 * refunds, bad and stale signatures, malformed payloads (nothing stored), other currencies through the price
 * book's FX, and the /metrics counters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { polarCustomer, polarOrder, signPolar, signStripe, stripeEvent } from '../helpers/billing-payloads.ts';
import { startTestCollector, type TestCollector } from '../helpers/collector.ts';

const POLAR_SECRET = 'polar_whs_test_secret';
const STRIPE_SECRET = 'whsec_test_secret';
let c: TestCollector;

beforeAll(async () => {
  c = await startTestCollector({
    billing: { polarWebhookSecret: POLAR_SECRET, stripeWebhookSecret: STRIPE_SECRET },
  });
  const put = await fetch(`${c.url}/v1/prices`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fx: [{ currency: 'EUR', date: '2026-03-01', usd_per_unit: '1.1' }] }),
  });
  expect(put.status).toBe(200);
});
afterAll(async () => c?.close());

async function polar(type: string, data: unknown, id: string, at?: Date) {
  const body = JSON.stringify({ type, timestamp: '2026-03-06T12:00:00Z', data });
  const res = await fetch(`${c.url}/v1/webhooks/polar`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signPolar(body, POLAR_SECRET, id, at) },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function stripe(id: string, type: string, object: Record<string, unknown>, signature?: string) {
  const body = JSON.stringify(stripeEvent(id, type, object));
  const res = await fetch(`${c.url}/v1/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signature ?? signStripe(body, STRIPE_SECRET) },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Revenue (cents, exact text) per customer in March 2026. */
async function revenue(): Promise<Record<string, number>> {
  const res = await fetch(`${c.url}/v1/metrics/customers?start_date=2026-03-01&end_date=2026-03-31&limit=1000`);
  const items = ((await res.json()) as { items: Array<{ customer_id: string; revenue: number }> }).items;
  return Object.fromEntries(items.filter((i) => i.revenue !== 0).map((i) => [i.customer_id, i.revenue]));
}

describe('Polar webhooks', () => {
  const acme = polarCustomer({ id: 'pc-acme', externalId: 'acme', name: 'Acme Inc.', email: 'ap@acme.test' });
  const anon = polarCustomer({ id: 'pc-9', externalId: null });

  it('books order.paid net of tax under the external id (else the Polar id), once per delivery and per order', async () => {
    const order = polarOrder({ id: 'ord-1', customer: acme, netAmount: 4900, taxAmount: 980 });
    expect(await polar('order.paid', order, 'msg-1')).toEqual({ status: 200, body: { status: 'booked' } });
    // The same delivery again, and the same order in a new delivery: stored once.
    expect(await polar('order.paid', order, 'msg-1')).toEqual({ status: 200, body: { status: 'duplicate' } });
    expect(await polar('order.paid', order, 'msg-2')).toEqual({ status: 200, body: { status: 'nothing_new' } });
    expect(
      await polar('order.paid', polarOrder({ id: 'ord-2', customer: anon, netAmount: 1500 }), 'msg-3'),
    ).toMatchObject({
      status: 200,
    });
    expect(await revenue()).toMatchObject({ acme: 4900, 'pc-9': 1500 });
  });

  it('books only the newly refunded part, whatever order refunds and payment arrive in', async () => {
    const customer = polarCustomer({ id: 'pc-globex', externalId: 'globex' });
    const at = (refunded: number) => polarOrder({ id: 'ord-3', customer, netAmount: 1000, refundedAmount: refunded });
    // The refund arrives before its order.paid.
    expect((await polar('order.refunded', at(300), 'msg-r1')).body).toEqual({ status: 'booked' });
    expect(await revenue()).toMatchObject({ globex: -300 });
    expect((await polar('order.paid', at(0), 'msg-p3')).body).toEqual({ status: 'booked' });
    expect((await polar('order.refunded', at(500), 'msg-r2')).body).toEqual({ status: 'booked' });
    // An older refund webhook delivered late changes nothing.
    expect((await polar('order.refunded', at(300), 'msg-r0')).body).toEqual({ status: 'nothing_new' });
    expect((await revenue()).globex).toBe(500);
  });

  it('upserts customers from customer.created / customer.updated', async () => {
    expect((await polar('customer.created', acme, 'msg-c1')).body).toEqual({ status: 'booked' });
    const renamed = { ...acme, name: 'Acme Corporation' };
    expect((await polar('customer.updated', renamed, 'msg-c2')).body).toEqual({ status: 'booked' });
    const customer = (await (await fetch(`${c.url}/v1/customers/acme`)).json()) as Record<string, unknown>;
    expect(customer).toMatchObject({ external_id: 'acme', name: 'Acme Corporation', email: 'ap@acme.test' });
  });

  it('acknowledges other types, refuses bad and stale signatures and malformed payloads, storing nothing', async () => {
    const before = await revenue();
    expect(await polar('checkout.created', { anything: true }, 'msg-x')).toEqual({
      status: 200,
      body: { status: 'ignored', type: 'checkout.created' },
    });
    const order = polarOrder({ id: 'ord-bad', customer: acme, netAmount: 777 });
    const body = JSON.stringify({ type: 'order.paid', timestamp: '2026-03-06T12:00:00Z', data: order });
    const forged = await fetch(`${c.url}/v1/webhooks/polar`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signPolar(body, 'not-the-secret', 'msg-f') },
      body,
    });
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { message: string }).message).toMatch(/signature/);
    // Signed 10 minutes ago: outside Standard Webhooks' 5-minute tolerance.
    expect((await polar('order.paid', order, 'msg-stale', new Date(Date.now() - 600_000))).status).toBe(401);
    const { net_amount: _, ...broken } = order;
    const malformed = await polar('order.paid', broken, 'msg-m');
    expect(malformed.status).toBe(400);
    expect(String(malformed.body.message)).toMatch(/malformed order\.paid payload/);
    expect(await revenue()).toEqual(before);
    const metrics = await (await fetch(`${c.url}/metrics`)).text();
    expect(metrics).toMatch(/costtrace_webhooks_total\{provider="polar",outcome="bad_signature"\} 2/);
    expect(metrics).toMatch(/costtrace_webhooks_total\{provider="polar",outcome="malformed"\} 1/);
  });

  it('converts another currency with the price book rate, and refuses one without a rate', async () => {
    const eur = polarOrder({
      id: 'ord-eur',
      customer: polarCustomer({ id: 'pc-eu', externalId: 'eu-co' }),
      netAmount: 1000,
      currency: 'eur',
    });
    expect((await polar('order.paid', eur, 'msg-eur')).body).toEqual({ status: 'booked' });
    expect((await revenue())['eu-co']).toBe(1100);
    const gbp = polarOrder({ id: 'ord-gbp', customer: acme, netAmount: 1000, currency: 'gbp' });
    const refused = await polar('order.paid', gbp, 'msg-gbp');
    expect(refused.status).toBe(422);
    expect(String(refused.body.message)).toMatch(/no GBP rate on or before 2026-03-05/);
    // Not remembered as delivered: once a rate is added, the retry books it.
    expect((await revenue()).acme).toBe(4900);
  });
});

describe('Stripe webhooks', () => {
  it('books invoice.paid minus tax, mapping the Stripe customer through metadata.external_id', async () => {
    const invoice = (id: string, customer: string, paid: number, taxes: number[]) => ({
      id,
      object: 'invoice',
      customer,
      amount_paid: paid,
      currency: 'usd',
      total_taxes: taxes.map((amount) => ({ amount, tax_behavior: 'exclusive', tax_rate_details: null })),
      status_transitions: { paid_at: 1772712000 }, // 2026-03-05T12:00:00Z
    });
    // Before Stripe told us who cus_1 is: booked under the Stripe id.
    expect((await stripe('evt_1', 'invoice.paid', invoice('in_1', 'cus_1', 1200, [200]))).body).toEqual({
      status: 'booked',
    });
    expect(
      (
        await stripe('evt_2', 'customer.created', {
          id: 'cus_1',
          object: 'customer',
          name: 'Initech',
          email: 'billing@initech.test',
          created: 1772000000,
          metadata: { external_id: 'initech' },
        })
      ).body,
    ).toEqual({ status: 'booked' });
    expect((await stripe('evt_3', 'invoice.paid', invoice('in_2', 'cus_1', 5000, [400, 100]))).body).toEqual({
      status: 'booked',
    });
    expect((await stripe('evt_3', 'invoice.paid', invoice('in_2', 'cus_1', 5000, [400, 100]))).body).toEqual({
      status: 'duplicate',
    });
    expect(await revenue()).toMatchObject({ cus_1: 1000, initech: 4500 });
  });

  it('books the newly refunded part of charge.refunded; refuses bad and stale signatures', async () => {
    const charge = (refunded: number) => ({
      id: 'ch_1',
      object: 'charge',
      customer: { id: 'cus_2', metadata: { external_id: 'hooli' } },
      amount: 3000,
      amount_refunded: refunded,
      currency: 'usd',
    });
    expect((await stripe('evt_r1', 'charge.refunded', charge(1000))).body).toEqual({ status: 'booked' });
    expect((await stripe('evt_r2', 'charge.refunded', charge(1500))).body).toEqual({ status: 'booked' });
    expect((await stripe('evt_r3', 'charge.refunded', charge(1000))).body).toEqual({ status: 'nothing_new' });
    expect((await revenue()).hooli).toBe(-1500);
    const body = JSON.stringify(stripeEvent('evt_f', 'charge.refunded', charge(2500)));
    expect((await stripe('evt_f', 'charge.refunded', charge(2500), signStripe(body, 'whsec_other'))).status).toBe(401);
    const stale = signStripe(body, STRIPE_SECRET, Math.floor(Date.now() / 1000) - 600);
    expect((await stripe('evt_f', 'charge.refunded', charge(2500), stale)).status).toBe(401);
    expect((await stripe('evt_m', 'invoice.paid', { id: 'in_9', object: 'invoice' })).status).toBe(400);
    expect((await revenue()).hooli).toBe(-1500);
    expect((await stripe('evt_o', 'payment_intent.created', { id: 'pi_1' })).body).toEqual({
      status: 'ignored',
      type: 'payment_intent.created',
    });
  });

  it('answers 503 when a provider has no secret configured', async () => {
    const bare = await startTestCollector();
    try {
      const res = await fetch(`${bare.url}/v1/webhooks/stripe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=x' },
        body: '{}',
      });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { message: string }).message).toMatch(/COSTTRACE_STRIPE_WEBHOOK_SECRET/);
    } finally {
      await bare.close();
    }
  });
});
