/**
 * Reading a signed billing webhook, pure (bookings.ts, stripe-webhook.ts; the clock passed in): the record
 * limits at their edges, refunds capped at the payment, the signature's timestamp window both ways, and the
 * whole booking a well-formed delivery makes.
 */
import { describe, expect, it } from 'vitest';
import { cappedRefund, LimitCheck, secondsToMicros } from '../../../../collector/features/billing/bookings.ts';
import { readStripeWebhook } from '../../../../collector/features/billing/stripe-webhook.ts';
import { signStripe, stripeCharge, stripeEvent, stripeInvoice } from '../../../helpers/billing-payloads.ts';

const SECRET = 'whsec_unit';
const NOW_S = 1_772_712_000; // 2026-03-05T12:00:00Z
const LIMIT = 10n ** 13n;

/** The problems a fresh check finds for one value. */
function problemsOf(take: (check: LimitCheck) => void) {
  const check = new LimitCheck();
  take(check);
  const read = check.read('d', { kind: 'ignored', type: 't' });
  return read.ok ? [] : read.status === 422 ? read.problems.map((p) => p.msg) : [read.reason];
}

describe('record limits of a webhook value', () => {
  it.each([
    [-1n, ['must not be negative']],
    [0n, []],
    [LIMIT, []],
    [LIMIT + 1n, ['exceeds the per-record limit of 10000000000000 cents in absolute value']],
    [9e25, ['exceeds the per-record limit of 10000000000000 cents in absolute value']],
  ])('amount %s', (amount, expected) => {
    expect(problemsOf((c) => c.amount(amount, ['body', 'amount']))).toEqual(expected);
  });

  const maxMicros = ((1n << 64n) - 1n) / 1000n;
  it.each([
    [null, ['must be from 1970-01-01 to 2554-07-21T23:34:33Z']],
    [-1n, ['must be from 1970-01-01 to 2554-07-21T23:34:33Z']],
    [0n, []],
    [maxMicros, []],
    [maxMicros + 1n, ['must be from 1970-01-01 to 2554-07-21T23:34:33Z']],
  ])('time %s µs', (micros, expected) => {
    expect(problemsOf((c) => c.time(micros, ['body', 'at']))).toEqual(expected);
  });

  it.each([
    ['', ['must be 1 to 256 characters']],
    ['a'.repeat(256), []],
    ['a'.repeat(257), ['must be 1 to 256 characters']],
  ])('id of %#', (id, expected) => {
    expect(problemsOf((c) => c.id(id, ['body', 'id']))).toEqual(expected);
  });

  it('counts the prefix and suffix of the event id an object id becomes part of', () => {
    const fits = 'o'.repeat(256 - 'stripe:invoice:'.length - ':paid'.length);
    expect(problemsOf((c) => c.partOfEventId(fits, 'stripe:invoice:', ':paid', ['id']))).toEqual([]);
    expect(problemsOf((c) => c.partOfEventId(`${fits}o`, 'stripe:invoice:', ':paid', ['id']))).toEqual([
      'makes the event id longer than 256 characters',
    ]);
  });

  it('lists every problem of a delivery with where it is, and replaces lone surrogates in ids', () => {
    const check = new LimitCheck();
    expect(check.id('a\ud800b', ['body', 'customer'])).toBe('a\ufffdb');
    check.amount(-5, ['body', 'amount']);
    check.time(-1n, ['body', 'at']);
    expect(check.read('d', { kind: 'ignored', type: 't' })).toEqual({
      ok: false,
      status: 422,
      problems: [
        { loc: ['body', 'amount'], msg: 'must not be negative', type: 'value_error' },
        { loc: ['body', 'at'], msg: 'must be from 1970-01-01 to 2554-07-21T23:34:33Z', type: 'value_error' },
      ],
    });
  });

  it.each([
    [500n, 3000n, 500n],
    [3000n, 3000n, 3000n],
    [5000n, 3000n, 3000n],
  ])('a refund of %s against a payment of %s books %s cumulatively', (refunded, paid, booked) => {
    expect(cappedRefund(refunded, paid)).toBe(booked);
  });
});

describe('a Stripe delivery', () => {
  const read = (object: Record<string, unknown>, type: string, signedAt = NOW_S, nowS = NOW_S) => {
    const body = JSON.stringify(stripeEvent('evt_u', type, object));
    return readStripeWebhook(body, signStripe(body, SECRET, signedAt), SECRET, nowS * 1000);
  };
  const invoice = stripeInvoice({ id: 'in_u', customer: 'cus_u', amountPaid: 1200, taxes: [150, 50] });

  it.each([
    [0, true],
    [300, true],
    [301, false],
    [86_400, false],
  ])('signed %s s ahead of our clock: accepted %s', (ahead, accepted) => {
    const answer = read(invoice, 'invoice.paid', NOW_S + ahead);
    expect(answer.ok ? 'accepted' : answer).toEqual(
      accepted
        ? 'accepted'
        : {
            ok: false,
            status: 401,
            reason: 'webhook signature not verified: timestamp is more than 300 s in the future',
          },
    );
  });

  it('judges a signature age by the clock passed in', () => {
    expect(read(invoice, 'invoice.paid', NOW_S, NOW_S + 301)).toEqual({
      ok: false,
      status: 401,
      reason: 'webhook signature not verified: Timestamp outside the tolerance zone',
    });
  });

  it('books invoice.paid net of tax, with where its amount came from', () => {
    expect(read(invoice, 'invoice.paid')).toEqual({
      ok: true,
      deliveryId: 'evt_u',
      booking: {
        kind: 'revenue',
        eventId: 'stripe:invoice:in_u:paid',
        name: 'invoice.paid',
        customerId: 'cus_u',
        providerCustomerId: 'cus_u',
        amountMinor: 1000n,
        currency: 'usd',
        atMicros: secondsToMicros(1772712000),
        metadata: { provider: 'stripe', invoice_id: 'in_u', stripe_customer: 'cus_u' },
        fields: { amount: ['body', 'data', 'object', 'amount_paid'], currency: ['body', 'data', 'object', 'currency'] },
      },
    });
  });

  it('books charge.refunded capped at the charge amount', () => {
    const charge = stripeCharge({ id: 'ch_u', customer: 'cus_u', amount: 3000, amountRefunded: 4500 });
    const answer = read(charge, 'charge.refunded');
    expect(answer.ok && answer.booking.kind === 'refund' ? answer.booking.refundedMinorCumulative : answer).toBe(3000n);
  });
});
