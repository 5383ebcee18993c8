/**
 * Retention (docs/contract.md §10): raw spans older than the cutoff are removed in small transactions. Every answer
 * stays the same because nothing reads them alone: `rollup_15m` holds metrics and the per-trace summaries
 * (trace-summaries.ts) feed trace lists and cost drivers, both kept at ingest. Events, customers, rollups and
 * summaries are never removed. Spans still waiting for an ancestor past the cutoff are settled with the customer
 * they have (summarized, no longer pending, in the file and in memory), so a late ancestor cannot move cost.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { run } from '../../db/sql.ts';
import { transaction } from '../../db/transaction.ts';
import { foldParts, PARTS_FROM_RECORDS } from '../../derived/trace-summaries.ts';
import { type JobTimers, PeriodicJob } from '../../jobs/periodic-job.ts';
import { enqueueFromRecords } from '../billing/outbox.ts';
import { foldMeters } from '../meters/meters.ts';

/** Spans removed per transaction: one batch is the longest ingest waits for the writer. */
export const RETENTION_BATCH_SPANS = 10_000;

/** How often the retention job runs by default. */
export const RETENTION_INTERVAL_MS = 60_000;

const DAY_MICROS = 86_400_000_000n;

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
 * Folds and removes one batch of spans that started before `cutoffMicros`; returns how many were removed (0 when
 * nothing is left). `settled` runs after COMMIT with the cutoff (forget pending spans before it in memory).
 */
export async function removeOldSpans(
  conn: DuckDBConnection,
  cutoffMicros: bigint,
  settled: (cutoffMicros: bigint) => void,
  forward = false,
  batchSpans = RETENTION_BATCH_SPANS,
): Promise<number> {
  return transaction(conn, async (afterCommit) => {
    const cutoff = [cutoffMicros];
    const old = `source = 'span' AND ts < make_timestamp(?::BIGINT)`;
    // Pending spans past the cutoff settle with the customer they have, and join the summaries as they are.
    await foldParts(conn, `SELECT ${PARTS_FROM_RECORDS} FROM records WHERE attribution_pending AND ${old}`, cutoff);
    await foldMeters(conn, `(SELECT * FROM records WHERE attribution_pending AND ${old})`, cutoff);
    if (forward) await enqueueFromRecords(conn, `FROM records r WHERE r.attribution_pending AND r.${old}`, cutoff);
    await run(conn, `UPDATE records SET attribution_pending = false WHERE attribution_pending AND ${old}`, cutoff);
    afterCommit(() => settled(cutoffMicros));
    // Every other span was summarized when it was written: removing it changes no answer.
    await run(
      conn,
      `CREATE OR REPLACE TEMP TABLE retention_batch AS
       SELECT trace_id, span_id FROM records WHERE ${old} LIMIT ${batchSpans}`,
      cutoff,
    );
    const n = Number((await conn.runAndReadAll('SELECT count(*) FROM retention_batch')).getRows()[0]?.[0]);
    if (n > 0) {
      await conn.run(
        `DELETE FROM records USING retention_batch b
         WHERE records.trace_id = b.trace_id AND records.span_id = b.span_id`,
      );
    }
    await conn.run('DROP TABLE retention_batch');
    return n;
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
