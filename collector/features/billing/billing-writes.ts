/**
 * Applies what a verified billing webhook books (features/billing/bookings.ts) on the writer. Revenue and refunds become
 * events (`source = 'event'`, so metrics, rollups, customers and exports treat them like any event); the
 * delivery id is remembered so the same delivery is answered as a duplicate. Every booking is idempotent by its
 * event id even without that memory (a crash between booking and remembering books nothing twice).
 *
 * The amount booked obeys the per-record limit in USD too (docs/contract.md §12): the readers checked it in the
 * currency's minor unit; once converted it is checked again (a 422 naming the amount, nothing stored). A refund's
 * cumulative amount arrives capped at its payment (features/billing/bookings.ts), so refunds never book more than was paid.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { recordAmountProblem } from '../../../src/money.ts';
import { col, one } from '../../db/sql.ts';
import type { EventInput } from '../../events/validate.ts';
import { upsertCustomer } from '../../writer/customer-records.ts';
import type { CustomerRegistry } from '../../writer/customers.ts';
import { writeEventRequests } from '../../writer/event-writes.ts';
import type { Projections } from '../../writer/projection.ts';
import type { Booking, LimitProblem, Provider } from './bookings.ts';

export type BookingOutcome = 'booked' | 'duplicate' | 'ignored' | 'nothing_new';

export interface BookingContext {
  readonly provider: Provider;
  readonly deliveryId: string;
  readonly nowMicros: bigint;
  /** Minor units of a currency → USD picocents, or why not (the price book's FX). */
  readonly toUsd: (
    minor: bigint,
    currency: string,
    atMicros: bigint,
  ) => { ok: true; usdPicocents: bigint; original: Record<string, string> | null } | { ok: false; reason: string };
}

/** A booking refused for its content (no FX rate, over the limit in USD): the route answers 422; nothing stored. */
export interface BookingRefused {
  readonly refused: LimitProblem;
}

export async function applyBooking(
  conn: DuckDBConnection,
  projections: Projections,
  customers: CustomerRegistry,
  booking: Booking,
  ctx: BookingContext,
): Promise<BookingOutcome | BookingRefused> {
  const seen = await one(
    conn,
    'SELECT 1 AS seen FROM webhook_deliveries WHERE provider = ? AND delivery_id = ?',
    [ctx.provider, ctx.deliveryId],
    () => true,
  );
  if (seen) return 'duplicate';
  const outcome = await book(conn, projections, customers, booking, ctx);
  if (typeof outcome !== 'string') return outcome; // refused: not remembered, so a retry can book it later
  await conn.run(`INSERT OR IGNORE INTO webhook_deliveries VALUES (?, ?, make_timestamp(?::BIGINT), ?)`, [
    ctx.provider,
    ctx.deliveryId,
    ctx.nowMicros,
    booking.kind === 'ignored' ? `ignored ${booking.type}` : booking.kind,
  ]);
  return outcome;
}

async function book(
  conn: DuckDBConnection,
  projections: Projections,
  customers: CustomerRegistry,
  booking: Booking,
  ctx: BookingContext,
): Promise<BookingOutcome | BookingRefused> {
  switch (booking.kind) {
    case 'ignored':
      return 'ignored';
    case 'customer': {
      await upsertCustomer(conn, customers, booking.upsert, ctx.nowMicros);
      if (booking.alias !== null) {
        await conn.run('INSERT OR REPLACE INTO billing_customers VALUES (?, ?, ?)', [
          booking.alias.provider,
          booking.alias.providerCustomerId,
          booking.upsert.externalId,
        ]);
      }
      return 'booked';
    }
    case 'revenue':
    case 'refund': {
      let amountMinor: bigint;
      let eventId: string;
      if (booking.kind === 'revenue') {
        amountMinor = booking.amountMinor;
        eventId = booking.eventId;
      } else {
        const before = await refundedBefore(conn, booking.key);
        amountMinor = -(booking.refundedMinorCumulative - before);
        eventId = `${booking.key}:refunded:${booking.refundedMinorCumulative}`;
        if (booking.refundedMinorCumulative <= before) return 'nothing_new';
      }
      const usd = ctx.toUsd(amountMinor, booking.currency, booking.atMicros);
      if (!usd.ok) return { refused: { loc: [...booking.fields.currency], msg: usd.reason, type: 'value_error' } };
      const tooLarge = recordAmountProblem(usd.usdPicocents);
      if (tooLarge !== null) {
        const msg = usd.original === null ? tooLarge : `in USD ${tooLarge}`;
        return { refused: { loc: [...booking.fields.amount], msg, type: 'value_error' } };
      }
      const customerId = await resolveCustomer(conn, ctx.provider, booking.customerId, booking.providerCustomerId);
      const event: EventInput = {
        name: booking.name,
        customerExternalId: customerId,
        timestampMicros: booking.atMicros,
        externalId: eventId,
        parentId: null,
        costPicocents: null,
        revenuePicocents: usd.usdPicocents,
        llm: null,
        metadataJson: JSON.stringify({ ...booking.metadata, ...(usd.original ?? {}) }),
      };
      const [written] = await writeEventRequests(conn, projections, customers, [[event]], ctx.nowMicros);
      return written !== undefined && written.inserted > 0 ? 'booked' : 'nothing_new';
    }
  }
}

/** The cumulative refunded amount (minor units) already booked for a paid object (0 when none). */
async function refundedBefore(conn: DuckDBConnection, key: string): Promise<bigint> {
  const prefix = `${key}:refunded:`;
  const v = await one(
    conn,
    `SELECT max(CAST(substr(span_id, ?) AS HUGEINT))::VARCHAR AS refunded FROM records
     WHERE source = 'event' AND trace_id = '' AND starts_with(span_id, ?)`,
    [prefix.length + 1, prefix],
    (r) => col(r, 'refunded'),
  );
  return v === null || v === undefined ? 0n : BigInt(String(v));
}

async function resolveCustomer(
  conn: DuckDBConnection,
  provider: Provider,
  customerId: string,
  providerCustomerId: string | null,
): Promise<string> {
  if (providerCustomerId === null) return customerId;
  const known = await one(
    conn,
    'SELECT customer_id FROM billing_customers WHERE provider = ? AND provider_customer_id = ?',
    [provider, providerCustomerId],
    (r) => String(col(r, 'customer_id')),
  );
  return known ?? customerId;
}
