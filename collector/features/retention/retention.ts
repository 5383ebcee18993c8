/**
 * Retention (docs/contract.md §10): raw spans older than the cutoff are removed in small transactions. Every answer
 * stays the same because nothing reads them alone: `rollup_15m` holds metrics and the per-trace summaries
 * (trace-summaries.ts) feed trace lists and cost drivers, both kept at ingest. Events, customers, rollups and
 * summaries are never removed. Spans still waiting for an ancestor past the cutoff are settled with the customer
 * they have (summarized, no longer pending, in the file and in memory), so a late ancestor cannot move cost.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { DAY_MICROS } from '../../core/time.ts';
import { type JobTimers, PeriodicJob } from '../../jobs/periodic-job.ts';

/** How often the retention job runs by default. */
export const RETENTION_INTERVAL_MS = 60_000;

export interface RetentionJobOptions {
  /** Removes the spans that started before the cutoff (IngestQueue.removeSpansBefore); resolves with how many. */
  readonly removeSpansBefore: (cutoffMicros: bigint) => Promise<number>;
  readonly nowMicros: () => bigint;
  /** Spans older than this many days are removed (> 0). */
  readonly retainSpansDays: number;
  readonly periodMs?: number;
  readonly log: (message: string, err: unknown) => void;
  readonly timers?: JobTimers;
}

/**
 * The retention job: every period (the first a period after start), the spans older than the cutoff are removed.
 * One run at a time: a run asked for while one is going joins it. A failure is logged, retried at the next tick.
 */
export function retentionJob(o: RetentionJobOptions): PeriodicJob<number> {
  const failureMessage = 'retention failed; will retry at the next tick';
  return new PeriodicJob({
    run: () =>
      o.removeSpansBefore(o.nowMicros() - BigInt(o.retainSpansDays) * DAY_MICROS).catch((err: unknown) => {
        o.log(failureMessage, err);
        return 0;
      }),
    periodMs: o.periodMs ?? RETENTION_INTERVAL_MS,
    overlap: 'join',
    whenStopped: () => 0,
    log: o.log,
    failureMessage,
    ...(o.timers ? { timers: o.timers } : {}),
  });
}

/**
 * Whether a trace with no stored spans was removed by retention: its summaries remain (every settled span is
 * summarized, so ask this only when the trace has no spans left).
 */
export async function traceRemoved(conn: DuckDBConnection, traceId: string): Promise<boolean> {
  const r = await conn.runAndReadAll('SELECT 1 FROM trace_days WHERE trace_id = ? LIMIT 1', [traceId]);
  return r.getRows().length > 0;
}
