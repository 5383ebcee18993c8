/**
 * Builds the insight indexes (insight-index.ts) off the ingest path: every minute, and at start, it indexes the
 * UTC days and months that ended more than an hour ago and are not indexed (never indexed, or un-indexed by late
 * data), a few days or one month per writer turn so ingest goes on between them.
 */

import { DAY_MICROS, dayDate, dayNumber } from '../../core/time.ts';
import { transaction } from '../../db/transaction.ts';
import { type JobTimers, PeriodicJob } from '../../jobs/periodic-job.ts';
import type { IngestQueue } from '../../writer/ingest-queue.ts';
import { type InsightIndex, indexMonth, indexTraceDays, monthStartDay } from './insight-index.ts';

/** How long after a period ends it is indexed. */
export const SETTLE_MICROS = 3_600_000_000n;
/** Trace days indexed per writer turn (each turn also scans the traces' other days). */
export const INDEX_DAYS_PER_TURN = 7;

export interface IndexTally {
  readonly days: number;
  readonly months: number;
}

export interface IndexObserver {
  /** Periods found not indexed by a scan. */
  pending(periods: number): void;
  indexed(kind: 'day' | 'month', periods: number): void;
}

/** Every INSIGHT_INDEX_INTERVAL_MS by default (and at start). */
export const INSIGHT_INDEX_INTERVAL_MS = 60_000;

export class InsightIndexer {
  private readonly job: PeriodicJob<IndexTally>;

  constructor(
    private readonly queue: IngestQueue,
    /** The writer's memory of what is indexed. */
    private readonly index: InsightIndex,
    private readonly nowMicros: () => bigint,
    log: (message: string, err: unknown) => void,
    private readonly observe: IndexObserver = { pending: () => undefined, indexed: () => undefined },
    periodMs = INSIGHT_INDEX_INTERVAL_MS,
    timers?: JobTimers,
  ) {
    this.job = new PeriodicJob({
      run: () => this.loop(),
      periodMs,
      runOnStart: true,
      overlap: 'again',
      whenStopped: () => ({ days: 0, months: 0 }),
      log,
      failureMessage: 'insight index failed; will retry at the next tick',
      ...(timers ? { timers } : {}),
    });
  }

  /** Indexes now, then every period; failures are logged and retried at the next tick. */
  start(): void {
    this.job.start();
  }

  /** Indexes every ended period not indexed yet; a call while a run is going waits for it and runs again. */
  run(): Promise<IndexTally> {
    return this.job.runOnce();
  }

  /** Runs in the background (now, or right after the run in progress). */
  kick(): void {
    this.job.wake();
  }

  stop(): Promise<void> {
    return this.job.stop();
  }

  private async loop(): Promise<IndexTally> {
    const now = this.nowMicros();
    // Ended over an hour ago (as fixed-cost allocation waits): a day D when D + 1 day ≤ now − 1 h, a month when its
    // end ≤ now − 1 h. Data later than that un-indexes its day (insight-index.ts), which is indexed again next time.
    const lastDay = Number((now - SETTLE_MICROS) / DAY_MICROS) - 1;
    const firstOpenMonth = monthStartDay(now - SETTLE_MICROS);
    const { days, months } = await this.queue.exclusive(async (conn) => {
      const read = async (sql: string, limit: number) =>
        (await conn.runAndReadAll(sql, [limit])).getRows().map((r) => Number(r[0]));
      return {
        days: await read(
          `SELECT DISTINCT ${dayNumber('day')} AS d FROM trace_days
           WHERE day <= DATE '1970-01-01' + ?::INTEGER
             AND day NOT IN (SELECT period FROM indexed_periods WHERE kind = 'day') ORDER BY d`,
          lastDay,
        ),
        months: await read(
          `SELECT DISTINCT ${dayNumber("CAST(date_trunc('month', slot) AS DATE)")} AS m FROM rollup_15m
           WHERE slot < DATE '1970-01-01' + ?::INTEGER
             AND CAST(date_trunc('month', slot) AS DATE) NOT IN (SELECT period FROM indexed_periods WHERE kind = 'month')
           ORDER BY m`,
          firstOpenMonth,
        ),
      };
    });
    let left = days.length + months.length;
    this.observe.pending(left);
    let dayCount = 0;
    for (let i = 0; i < days.length && !this.job.stopping; i += INDEX_DAYS_PER_TURN) {
      const chunk = days.slice(i, i + INDEX_DAYS_PER_TURN);
      await this.queue.exclusive((conn) =>
        transaction(conn, async (afterCommit) => {
          // Late data may have indexed or changed nothing since the scan: only days still not indexed.
          const still = (
            await conn.runAndReadAll(
              `SELECT ${dayNumber('period')} FROM indexed_periods WHERE kind = 'day'
               AND period IN (${chunk.map(dayDate).join(', ')})`,
            )
          )
            .getRows()
            .map((r) => Number(r[0]));
          const todo = chunk.filter((d) => !still.includes(d));
          if (todo.length === 0) return;
          await indexTraceDays(conn, todo);
          dayCount += todo.length;
          afterCommit(() => this.index.periodsIndexed('day', todo));
        }),
      );
      left -= chunk.length;
      this.observe.pending(left);
      this.observe.indexed('day', chunk.length);
    }
    let monthCount = 0;
    for (const month of months) {
      if (this.job.stopping) break;
      await this.queue.exclusive((conn) =>
        transaction(conn, async (afterCommit) => {
          const done = (
            await conn.runAndReadAll(
              `SELECT count(*) FROM indexed_periods WHERE kind = 'month' AND period = ${dayDate(month)}`,
            )
          ).getRows()[0]?.[0];
          if (Number(done) > 0) return;
          await indexMonth(conn, month);
          monthCount++;
          afterCommit(() => this.index.periodsIndexed('month', [month]));
        }),
      );
      this.observe.pending(--left);
      this.observe.indexed('month', 1);
    }
    return { days: dayCount, months: monthCount };
  }
}
