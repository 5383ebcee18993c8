/** The billing bridge as routes see it: a verified webhook's booking (on the writer) and the forwarding counts. */
import type { Database } from '../../db/database.ts';
import type { IngestQueue } from '../../writer/ingest-queue.ts';
import { applyBooking, type BookingContext } from './billing-writes.ts';
import type { Booking } from './bookings.ts';
import { forwardingCounts, parkedEvents } from './outbox.ts';

export type BillingService = ReturnType<typeof createBillingService>;

export function createBillingService(db: Database, queue: IngestQueue) {
  return {
    /** Books a verified webhook's booking on the writer (once per delivery id). */
    book: (booking: Booking, ctx: BookingContext) =>
      queue.exclusive((conn, customers, projections) => applyBooking(conn, projections, customers, booking, ctx)),
    /** Forwarding counts and up to `limit` parked events. */
    forwarding: (limit: number) =>
      db.read(async (conn) => [await forwardingCounts(conn), await parkedEvents(conn, limit)] as const),
    /** Forwarding counts alone (the /metrics gauge). */
    forwardingCounts: () => db.read(forwardingCounts),
  };
}
