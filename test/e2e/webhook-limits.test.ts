/**
 * Signed webhooks obey the record limits of spans and events (docs/contract.md §12, v3), against a running collector
 * with the providers' own signing: an amount, id or time over a limit → 422 naming the field, a body that is not
 * the provider's shape → 400 (never 5xx, which the provider would retry forever), a signature timestamped too
 * far ahead → 401, a refund capped at what was paid — and after every refusal the metrics answer 200 with the
 * numbers they had. Webhook uploads read under their own upload budget.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  polarCustomer,
  polarOrder,
  postPolar,
  postStripe,
  stripeCharge,
  stripeEvent,
  stripeInvoice,
} from '../helpers/billing-payloads.ts';
import { startTestCollector, type TestCollector } from '../helpers/collector.ts';

const POLAR_SECRET = 'polar_whs_limits_secret';
const STRIPE_SECRET = 'whsec_limits_secret';
const LONG_ID = 'x'.repeat(5000);
let c: TestCollector;
let deliveries = 0;

beforeAll(async () => {
  c = await startTestCollector({
    billing: { polarWebhookSecret: POLAR_SECRET, stripeWebhookSecret: STRIPE_SECRET },
  });
});
afterAll(async () => c?.close());

const acme = polarCustomer({ id: 'pc-acme', externalId: 'acme' });
const polarBody = (type: string, data: unknown, timestamp = '2026-03-06T12:00:00Z') =>
  JSON.stringify({ type, timestamp, data });
const polar = (body: string, at?: Date) => postPolar(c.url, POLAR_SECRET, body, `msg-${++deliveries}`, at);
const stripe = (type: string, object: Record<string, unknown>, timestamp?: number) =>
  postStripe(c.url, STRIPE_SECRET, JSON.stringify(stripeEvent(`evt_${++deliveries}`, type, object)), timestamp);

/** The metrics of 2026 (where every amount here lands) and customers over all storable days: 200, and the numbers. */
async function numbers(): Promise<{ metrics: unknown; customers: unknown }> {
  const metrics = await fetch(`${c.url}/v1/metrics?start_date=2026-01-01&end_date=2026-12-31&interval=month`);
  const customers = await fetch(`${c.url}/v1/metrics/customers?start_date=1970-01-01&end_date=2554-07-21&limit=100`);
  expect([metrics.status, customers.status]).toEqual([200, 200]);
  return { metrics: await metrics.json(), customers: await customers.json() };
}

/** Revenue per customer (cents), all time. */
async function revenue(): Promise<Record<string, number>> {
  const { customers } = await numbers();
  const items = (customers as { items: Array<{ customer_id: string; revenue: number }> }).items;
  return Object.fromEntries(items.map((i) => [i.customer_id, i.revenue]));
}

const refused = (loc: Array<string | number>, msg: string) => ({
  status: 422,
  body: { error: 'validation_error', message: `${loc.join('.')}: ${msg}`, detail: [{ loc, msg, type: 'value_error' }] },
});
const malformed = (message: string) => ({ status: 400, body: { error: 'bad_request', message } });

describe('signed webhooks over a record limit', () => {
  it('books nothing over the amount, id or time limits, and the metrics keep answering with the same numbers', async () => {
    expect(
      (await polar(polarBody('order.paid', polarOrder({ id: 'ord-ok', customer: acme, netAmount: 4900 })))).body,
    ).toEqual({
      status: 'booked',
    });
    expect(
      (await stripe('invoice.paid', stripeInvoice({ id: 'in_ok', customer: 'cus_ok', amountPaid: 1200, taxes: [200] })))
        .body,
    ).toEqual({ status: 'booked' });
    const before = await numbers();
    expect(await revenue()).toEqual({ acme: 4900, cus_ok: 1000 });

    const amount = 'exceeds the per-record limit of 10000000000000 cents in absolute value';
    const longId = 'must be 1 to 256 characters';
    const time = 'must be from 1970-01-01 to 2554-07-21T23:34:33Z';
    const cases: Array<[string, () => Promise<unknown>, unknown]> = [
      [
        'Polar net_amount 1e15',
        () => polar(polarBody('order.paid', polarOrder({ id: 'ord-big', customer: acme, netAmount: 1e15 }))),
        refused(['body', 'data', 'net_amount'], amount),
      ],
      [
        'Polar negative net_amount',
        () => polar(polarBody('order.paid', polarOrder({ id: 'ord-neg', customer: acme, netAmount: -100 }))),
        refused(['body', 'data', 'net_amount'], 'must not be negative'),
      ],
      [
        'Polar 5,000-character external_id',
        () =>
          polar(
            polarBody(
              'order.paid',
              polarOrder({
                id: 'ord-long',
                customer: polarCustomer({ id: 'pc-l', externalId: LONG_ID }),
                netAmount: 5,
              }),
            ),
          ),
        refused(['body', 'data', 'customer', 'external_id'], longId),
      ],
      [
        'Polar order id making the event id too long',
        () => polar(polarBody('order.paid', polarOrder({ id: 'o'.repeat(250), customer: acme, netAmount: 5 }))),
        refused(['body', 'data', 'id'], 'makes the event id longer than 256 characters'),
      ],
      [
        'Polar created_at before 1970',
        () =>
          polar(
            polarBody(
              'order.paid',
              polarOrder({ id: 'ord-old', customer: acme, netAmount: 5, createdAt: '1969-12-31T23:59:59Z' }),
            ),
          ),
        refused(['body', 'data', 'created_at'], time),
      ],
      [
        'Polar customer.created with a 5,000-character external_id',
        () => polar(polarBody('customer.created', polarCustomer({ id: 'pc-long', externalId: LONG_ID }))),
        refused(['body', 'data', 'external_id'], longId),
      ],
      [
        'Stripe amount_paid 9e25',
        () => stripe('invoice.paid', stripeInvoice({ id: 'in_big', customer: 'cus_ok', amountPaid: 9e25 })),
        refused(['body', 'data', 'object', 'amount_paid'], amount),
      ],
      [
        'Stripe taxes above amount_paid (a negative payment)',
        () =>
          stripe('invoice.paid', stripeInvoice({ id: 'in_neg', customer: 'cus_ok', amountPaid: 100, taxes: [300] })),
        refused(['body', 'data', 'object', 'amount_paid'], 'minus tax must not be negative'),
      ],
      [
        'Stripe 5,000-character metadata.external_id',
        () =>
          stripe(
            'invoice.paid',
            stripeInvoice({
              id: 'in_long',
              customer: { id: 'cus_l', metadata: { external_id: LONG_ID } },
              amountPaid: 5,
            }),
          ),
        refused(['body', 'data', 'object', 'customer', 'metadata', 'external_id'], longId),
      ],
      [
        'Stripe customer.created with a 5,000-character metadata.external_id',
        () => stripe('customer.created', { id: 'cus_long', object: 'customer', metadata: { external_id: LONG_ID } }),
        refused(['body', 'data', 'object', 'metadata', 'external_id'], longId),
      ],
      [
        'Stripe paid_at after 2554',
        () => stripe('invoice.paid', stripeInvoice({ id: 'in_late', customer: 'cus_ok', amountPaid: 5, paidAt: 1e11 })),
        refused(['body', 'data', 'object', 'status_transitions', 'paid_at'], time),
      ],
    ];
    for (const [name, send, expected] of cases) {
      expect({ name, answer: await send() }).toEqual({ name, answer: expected });
    }
    // Two invoices of 9e25 once made every sum overflow (500 "Overflow in HUGEINT"): both refused, sums intact.
    for (const id of ['in_huge_1', 'in_huge_2']) {
      expect((await stripe('invoice.paid', stripeInvoice({ id, customer: 'cus_ok', amountPaid: 9e25 }))).status).toBe(
        422,
      );
    }
    expect(await numbers()).toEqual(before);
    const metrics = await (await fetch(`${c.url}/metrics`)).text();
    expect(metrics).toMatch(/costtrace_webhooks_total\{provider="polar",outcome="refused"\} 6/);
    expect(metrics).toMatch(/costtrace_webhooks_total\{provider="stripe",outcome="refused"\} 7/);
  });

  it('refuses an amount that is over the limit only once converted to USD', async () => {
    const put = await fetch(`${c.url}/v1/prices`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fx: [{ currency: 'EUR', date: '2026-03-01', usd_per_unit: '2' }] }),
    });
    expect(put.status).toBe(200);
    const before = await numbers();
    const order = polarOrder({ id: 'ord-eur', customer: acme, netAmount: 6e12, currency: 'eur' });
    expect(await polar(polarBody('order.paid', order))).toEqual(
      refused(
        ['body', 'data', 'net_amount'],
        'in USD exceeds the per-record limit of 10000000000000 cents in absolute value',
      ),
    );
    expect(await numbers()).toEqual(before);
  });
});

describe('signed bodies that are not the provider shape', () => {
  it('answers 400 (never 5xx) and stores nothing', async () => {
    const before = await numbers();
    const order = polarOrder({ id: 'ord-m', customer: acme, netAmount: 100 });
    const invoice = stripeInvoice({ id: 'in_m', customer: 'cus_ok', amountPaid: 100 });
    const stripeRaw = (body: string) => postStripe(c.url, STRIPE_SECRET, body);
    const cases: Array<[string, () => Promise<unknown>, unknown]> = [
      ['Polar non-JSON', () => polar('this is not json'), malformed('malformed webhook payload: not JSON')],
      ['Polar []', () => polar('[]'), malformed('malformed webhook payload: not a Polar webhook event')],
      [
        'Polar net_amount 1.5',
        () => polar(polarBody('order.paid', { ...order, net_amount: 1.5 })),
        malformed('malformed order.paid payload: data.net_amount: expected int'),
      ],
      ['Stripe non-JSON', () => stripeRaw('this is not json'), malformed('malformed Stripe event: not JSON')],
      ['Stripe []', () => stripeRaw('[]'), malformed('malformed Stripe event: must be object')],
      [
        'Stripe event without id, type or created',
        () => stripeRaw('{"data":{"object":{}}}'),
        malformed(
          "malformed Stripe event: must have required property 'id'; must have required property 'type'; must have required property 'created'",
        ),
      ],
      [
        'Stripe total_taxes "abc"',
        () => stripe('invoice.paid', { ...invoice, total_taxes: 'abc' }),
        malformed('malformed invoice.paid payload: /data/object/total_taxes must be array,null'),
      ],
      [
        'Stripe total_taxes [{amount: "abc"}]',
        () => stripe('invoice.paid', { ...invoice, total_taxes: [{ amount: 'abc' }] }),
        malformed('malformed invoice.paid payload: /data/object/total_taxes/0/amount must be integer'),
      ],
      [
        'Stripe paid_at 1.5',
        () => stripe('invoice.paid', { ...invoice, status_transitions: { paid_at: 1.5 } }),
        malformed('malformed invoice.paid payload: /data/object/status_transitions/paid_at must be integer,null'),
      ],
      [
        'Stripe invoice without amount_paid',
        () => stripe('invoice.paid', { id: 'in_9', object: 'invoice', customer: 'cus_ok', currency: 'usd' }),
        malformed("malformed invoice.paid payload: /data/object must have required property 'amount_paid'"),
      ],
      [
        'Stripe charge without a customer',
        () =>
          stripe('charge.refunded', { id: 'ch_9', amount: 100, amount_refunded: 100, currency: 'usd', customer: null }),
        malformed('malformed charge.refunded payload: /data/object/customer must be string,object'),
      ],
      [
        'Stripe customer with a numeric name',
        () => stripe('customer.updated', { id: 'cus_9', name: 5 }),
        malformed('malformed customer.updated payload: /data/object/name must be string,null'),
      ],
    ];
    for (const [name, send, expected] of cases) {
      expect({ name, answer: await send() }).toEqual({ name, answer: expected });
    }
    expect(await numbers()).toEqual(before);
  });

  it('still acknowledges event types it does not book, whatever their data', async () => {
    expect(await stripe('payment_intent.created', { id: 'pi_1', amount: 'anything' })).toEqual({
      status: 200,
      body: { status: 'ignored', type: 'payment_intent.created' },
    });
  });
});

describe('signatures from the future', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const invoice = (id: string) => stripeInvoice({ id, customer: 'cus_future', amountPaid: 700 });

  it('refuses Stripe timestamps more than 5 minutes ahead, accepts a small clock skew', async () => {
    // 302, not 301: `now()` is floored to the second, so "301 s ahead" of it can be 300.x s ahead of the server's
    // clock when the request arrives (a flake seen in CI).
    for (const ahead of [86_400, 10 * 365 * 86_400, 302]) {
      expect(await stripe('invoice.paid', invoice(`in_f${ahead}`), now() + ahead)).toEqual({
        status: 401,
        body: {
          error: 'unauthorized',
          message: 'webhook signature not verified: timestamp is more than 300 s in the future',
        },
      });
    }
    expect((await revenue()).cus_future).toBeUndefined();
    expect((await stripe('invoice.paid', invoice('in_f60'), now() + 60)).body).toEqual({ status: 'booked' });
    expect((await revenue()).cus_future).toBe(700);
  });

  it('refuses Polar timestamps more than 5 minutes ahead (Standard Webhooks checks both directions)', async () => {
    const order = polarOrder({
      id: 'ord-future',
      customer: polarCustomer({ id: 'pc-f', externalId: 'future' }),
      netAmount: 9,
    });
    const answer = await polar(polarBody('order.paid', order), new Date(Date.now() + 86_400_000));
    expect(answer).toEqual({
      status: 401,
      body: { error: 'unauthorized', message: 'webhook signature not verified: Message timestamp too new' },
    });
    expect((await revenue()).future).toBeUndefined();
  });
});

describe('refunds', () => {
  it('caps a Stripe refund at the charge amount', async () => {
    const customer = { id: 'cus_r', metadata: { external_id: 'refunded-co' } };
    const charge = (refunded: number) =>
      stripeCharge({ id: 'ch_cap', customer, amount: 3000, amountRefunded: refunded });
    expect((await stripe('charge.refunded', charge(5000))).body).toEqual({ status: 'booked' });
    expect((await revenue())['refunded-co']).toBe(-3000);
    // A later, larger claim adds nothing: the charge is refunded in full already.
    expect((await stripe('charge.refunded', charge(6000))).body).toEqual({ status: 'nothing_new' });
    expect((await revenue())['refunded-co']).toBe(-3000);
  });

  it('caps a Polar refund at the order net amount', async () => {
    const customer = polarCustomer({ id: 'pc-r', externalId: 'polar-refunded' });
    const order = (refunded: number) =>
      polarOrder({ id: 'ord-cap', customer, netAmount: 1000, refundedAmount: refunded });
    expect((await polar(polarBody('order.paid', order(0)))).body).toEqual({ status: 'booked' });
    expect((await polar(polarBody('order.refunded', order(2500)))).body).toEqual({ status: 'booked' });
    expect((await revenue())['polar-refunded']).toBe(0);
  });

  it('refuses a negative refund', async () => {
    const charge = stripeCharge({ id: 'ch_neg', customer: 'cus_ok', amount: 3000, amountRefunded: -10 });
    expect(await stripe('charge.refunded', charge)).toEqual(
      refused(['body', 'data', 'object', 'amount_refunded'], 'must not be negative'),
    );
  });
});

describe('webhook upload budget', () => {
  it('is separate from the event API budget: slow webhook uploads never make event uploads 429', async () => {
    // 4 MiB in all: the JSON APIs get 1 MiB; webhooks their own 1 MiB.
    const small = await startTestCollector({
      uploadBudgetBytes: 4 * 1024 * 1024,
      webhookUploadBudgetBytes: 1024 * 1024,
      billing: { stripeWebhookSecret: STRIPE_SECRET },
    });
    const url = new URL(`${small.url}/v1/webhooks/stripe`);
    const headers = { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=x' };
    // A webhook upload that sends 1,000,000 bytes and then stalls (it never finishes): its bytes stay held.
    const stalled = request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      headers: { ...headers, 'content-length': '1001000' },
    });
    stalled.on('error', () => {});
    try {
      await new Promise<void>((resolve) => stalled.write(' '.repeat(1_000_000), () => resolve()));
      const post = async (path: string, body: string) => {
        const res = await fetch(`${small.url}${path}`, { method: 'POST', headers, body });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      // The webhook budget is full: another webhook upload is refused (retryable) …
      await expect.poll(async () => (await post('/v1/webhooks/stripe', `{}${' '.repeat(100_000)}`)).status).toBe(429);
      // … while an event upload of 100 KB still fits the events API's own budget.
      const events = JSON.stringify({ events: [{ name: 'call', external_customer_id: 'budget-co' }] });
      expect(await post('/v1/events/ingest', events + ' '.repeat(100_000))).toEqual({
        status: 200,
        body: { inserted: 1, duplicates: 0 },
      });
    } finally {
      stalled.destroy();
      await small.close();
    }
  });
});
