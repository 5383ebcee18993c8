/**
 * The features' store methods as routes see them (docs/architecture.md "Rules": routes never touch a connection, a
 * transaction or the writer): meters, budgets, insights, billing bookings and forwarding. Reads run on pooled read
 * connections; writes go through the ingest queue (the one writer), in transactions whose in-memory effects apply
 * after COMMIT.
 */

import type { Database } from '../db/database.ts';
import { readSnapshot, transaction } from '../db/transaction.ts';
import type { Interval, OffsetSegment } from '../metrics/calendar.ts';
import { customerKeysOf } from '../reads/metric-reads.ts';
import type { IngestQueue } from '../writer/ingest-queue.ts';
import { applyBooking, type BookingContext } from './billing/billing-writes.ts';
import type { Booking } from './billing/bookings.ts';
import { forwardingCounts, parkedEvents } from './billing/outbox.ts';
import { type Budget, budgetFor, deleteBudget, listBudgets, putBudget, spendInWindow } from './budgets/budgets.ts';
import { insightInputs } from './insights/insight-reads.ts';
import type { Meter } from './meters/definition.ts';
import { meterQuantities, meterUnitsByCustomer } from './meters/meter-reads.ts';
import { activeMeters, createMeter, deleteMeter, listMeters, probeMeter, setActiveMeters } from './meters/meters.ts';

export function createMeterStore(db: Database, queue: IngestQueue, maxMeters: number) {
  return {
    list: () => db.read(listMeters),
    byId: async (id: string): Promise<Meter | undefined> => (await db.read(listMeters)).find((m) => m.id === id),
    /**
     * Defines a meter, evaluated once by the engine before it is stored (nothing accepted can make a write fail):
     * 'full' at the meter limit, 'unevaluable' when the engine cannot evaluate it.
     */
    create: (meter: Meter): Promise<'created' | 'full' | 'unevaluable'> =>
      queue.exclusive(async (conn) => {
        const before = activeMeters(conn);
        if (before.length >= maxMeters) return 'full';
        if ((await probeMeter(conn, meter)) !== null) return 'unevaluable';
        await transaction(conn, async (afterCommit) => {
          await createMeter(conn, meter);
          afterCommit(() => setActiveMeters(conn, [...before, meter]));
        });
        return 'created';
      }),
    /** Removes a meter and what it measured; false when there is none. */
    remove: (id: string): Promise<boolean> =>
      queue.exclusive((conn) =>
        transaction(conn, async (afterCommit) => {
          const gone = await deleteMeter(conn, id);
          const rest = activeMeters(conn).filter((m) => m.id !== id);
          afterCommit(() => setActiveMeters(conn, rest));
          return gone;
        }),
      ),
    quantities: (
      meter: Meter,
      window: { fromMicros: bigint; toMicros: bigint },
      customerIds: readonly string[] | null,
      interval: Interval,
      segments: readonly OffsetSegment[],
    ) =>
      db.read(async (conn) => {
        const customerKeys = customerIds === null ? null : await customerKeysOf(conn, customerIds);
        return meterQuantities(conn, meter, { ...window, customerKeys }, interval, segments);
      }),
    unitsByCustomer: (meter: Meter, window: { fromMicros: bigint; toMicros: bigint }, externalIds: readonly string[]) =>
      db.read((conn) => meterUnitsByCustomer(conn, meter, window, externalIds)),
  };
}

export function createBudgetStore(db: Database, queue: IngestQueue) {
  return {
    put: (budget: Budget) => queue.exclusive((conn) => putBudget(conn, budget)),
    list: () => db.read(listBudgets),
    remove: (customerId: string) => queue.exclusive((conn) => deleteBudget(conn, customerId)),
    /** The customer's budget (or the `*` default) and its spend in the window holding `atMicros`; null: neither. */
    status: (customerId: string, atMicros: bigint) =>
      db.read(async (conn) => {
        const budget = await budgetFor(conn, customerId);
        if (budget === null) return null;
        return { budget, spend: await spendInWindow(conn, customerId, budget.window, atMicros) };
      }),
  };
}

/** What insights are computed from, read in one snapshot (every part of the answer sees the same commits). */
export function insightInputsOf(db: Database) {
  return (fromMicros: bigint, toMicros: bigint, anomalyMultiple: number, maxTraces: number) =>
    db.read((conn) => readSnapshot(conn, () => insightInputs(conn, fromMicros, toMicros, anomalyMultiple, maxTraces)));
}

export function createBillingStore(db: Database, queue: IngestQueue) {
  return {
    /** Books a verified webhook's booking on the writer (once per delivery id). */
    book: (booking: Booking, ctx: BookingContext) =>
      queue.exclusive((conn, customers) => applyBooking(conn, customers, booking, ctx)),
    /** Forwarding counts and up to `limit` parked events. */
    forwarding: (limit: number) =>
      db.read(async (conn) => [await forwardingCounts(conn), await parkedEvents(conn, limit)] as const),
  };
}
