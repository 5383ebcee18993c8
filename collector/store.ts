/**
 * The store as the API sees it: domain reads and writes, never a connection. Reads run on pooled read
 * connections; writes go through the ingest queue (the one writer), in transactions whose in-memory effects
 * apply after COMMIT (transaction.ts). Routes call these methods and shape the answers.
 */

import type { CustomerUpsert } from '../src/records.ts';
import { MAX_METERS } from './core/limits.ts';
import type { Database } from './db/database.ts';
import { resolveSnapshotPlace, writeSnapshot } from './db/snapshot.ts';
import { createBillingService } from './features/billing/service.ts';
import type { BudgetChecks } from './features/budgets/budget-checks.ts';
import { createBudgetService } from './features/budgets/service.ts';
import { insightInputsOf } from './features/insights/service.ts';
import type { MeterProjection } from './features/meters/meters.ts';
import { createMeterService } from './features/meters/service.ts';
import { traceRemoved } from './features/retention/retention.ts';
import type { Interval, OffsetSegment } from './metrics/calendar.ts';
import type { CustomerMetricsQuery } from './metrics/customer-sorts.ts';
import { costDrivers, type GroupBy } from './reads/cost-driver-reads.ts';
import { customerMetrics } from './reads/customer-metric-reads.ts';
import { bucketSums, customerKeysOf, type MetricScope, rangeTotals } from './reads/metric-reads.ts';
import { unpricedModels } from './reads/price-reads.ts';
import { listTraces, readTraceSpans, type TraceListQuery } from './reads/span-reads.ts';
import { listCustomers, readCustomer, upsertCustomer } from './writer/customer-records.ts';
import type { IngestQueue } from './writer/ingest-queue.ts';

export type Store = ReturnType<typeof createStore>;

/** The writer's memory the feature services change after their writes commit (wiring owns it: collector.ts). */
export interface WriterMemory {
  readonly meters: MeterProjection;
  readonly budgets: BudgetChecks;
}

export function createStore(db: Database, queue: IngestQueue, memory: WriterMemory) {
  return {
    meters: createMeterService(db, queue, memory.meters, MAX_METERS),
    budgets: createBudgetService(db, queue, memory.budgets),
    billing: createBillingService(db, queue),
    insightInputs: insightInputsOf(db),
    traceSpans: (traceId: string) => db.read((c) => readTraceSpans(c, traceId)),
    listTraces: (q: TraceListQuery) => db.read((c) => listTraces(c, q)),
    /** True when retention removed this trace's spans (its cost lives on in the summaries). */
    traceRemoved: (traceId: string) => db.read((c) => traceRemoved(c, traceId)),
    /** Integer keys of the named customers (unknown ids are left out). */
    customerKeys: (externalIds: readonly string[]) => db.read((c) => customerKeysOf(c, externalIds)),
    bucketSums: (scope: MetricScope, interval: Interval, segments: readonly OffsetSegment[]) =>
      db.read((c) => bucketSums(c, scope, interval, segments)),
    rangeTotals: (scope: MetricScope) => db.read((c) => rangeTotals(c, scope)),
    customerMetrics: (q: CustomerMetricsQuery) => db.read((c) => customerMetrics(c, q)),
    costDrivers: (
      window: { fromMicros: bigint; toMicros: bigint },
      customerId: string | undefined,
      groupBy: GroupBy,
      limit: number,
      quantiles: 'exact' | 'auto' = 'auto',
    ) =>
      db.read(async (c) => {
        const customerKeys = customerId === undefined ? null : await customerKeysOf(c, [customerId]);
        return costDrivers(c, { ...window, customerKeys }, groupBy, limit, quantiles);
      }),
    unpricedModels: (fromMicros: bigint, toMicros: bigint, limit: number) =>
      db.read((c) => unpricedModels(c, fromMicros, toMicros, limit)),
    customer: (externalId: string) => db.read((c) => readCustomer(c, externalId)),
    customers: (q: { limit: number; offset: number; query?: string | undefined }) =>
      db.read((c) => listCustomers(c, q)),
    /**
     * A consistent copy at the requested path (db/snapshot.ts: where it may write, `confineDir` the snapshot folder),
     * on a read connection: ingest goes on meanwhile. Throws SnapshotRefused for a path it may not use.
     */
    snapshot: async (requested: string, confineDir: string | undefined) => {
      const place = resolveSnapshotPlace(requested, confineDir);
      return { path: place.path, ...(await db.read((c) => writeSnapshot(c, place.realPath))) };
    },
    upsertCustomer: (u: CustomerUpsert, nowMicros: bigint) =>
      queue.exclusive((conn, registry) => upsertCustomer(conn, registry, u, nowMicros)),
    /** Open and answering: a trivial read succeeds and the writer's last commit did. */
    ready: async () =>
      queue.healthy &&
      (await db
        .read((c) => c.run('SELECT 1'))
        .then(
          () => true,
          () => false,
        )),
  };
}
