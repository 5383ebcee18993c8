/**
 * Meters as routes see them (docs/architecture.md "Rules": routes never touch a connection, a transaction or the
 * writer): definitions read on pooled read connections, created and removed on the writer in transactions whose
 * in-memory effect (the writer's `MeterProjection`) applies after COMMIT, and the quantities they measured.
 */
import type { Database } from '../../db/database.ts';
import { transaction } from '../../db/transaction.ts';
import type { Interval, OffsetSegment } from '../../metrics/calendar.ts';
import { customerKeysOf } from '../../reads/metric-reads.ts';
import type { IngestQueue } from '../../writer/ingest-queue.ts';
import type { Meter } from './definition.ts';
import { meterQuantities, meterUnitsByCustomer } from './meter-reads.ts';
import { createMeter, deleteMeter, listMeters, type MeterProjection, probeMeter } from './meters.ts';

export type MeterService = ReturnType<typeof createMeterService>;

export function createMeterService(db: Database, queue: IngestQueue, meters: MeterProjection, maxMeters: number) {
  return {
    list: () => db.read(listMeters),
    byId: async (id: string): Promise<Meter | undefined> => (await db.read(listMeters)).find((m) => m.id === id),
    /**
     * Defines a meter, evaluated once by the engine before it is stored (nothing accepted can make a write fail):
     * 'full' at the meter limit, 'unevaluable' when the engine cannot evaluate it.
     */
    create: (meter: Meter): Promise<'created' | 'full' | 'unevaluable'> =>
      queue.exclusive(async (conn) => {
        const before = meters.meters;
        if (before.length >= maxMeters) return 'full';
        if ((await probeMeter(conn, meter)) !== null) return 'unevaluable';
        await transaction(conn, async (afterCommit) => {
          await createMeter(conn, meter);
          afterCommit(() => meters.set([...before, meter]));
        });
        return 'created';
      }),
    /** Removes a meter and what it measured; false when there is none. */
    remove: (id: string): Promise<boolean> =>
      queue.exclusive((conn) =>
        transaction(conn, async (afterCommit) => {
          const gone = await deleteMeter(conn, id);
          const rest = meters.meters.filter((m) => m.id !== id);
          afterCommit(() => meters.set(rest));
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
