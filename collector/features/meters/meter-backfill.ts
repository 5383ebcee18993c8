/**
 * A new meter measures the records already stored in chunks, by start time, one writer turn per chunk: ingest
 * goes on between chunks (measured at 10M records: one transaction held the writer 53 s). The meter's cursor
 * says how far it got; the write paths measure a settled record only if it starts before the cursor, the backfill
 * every settled record from the cursor on (meters.ts, guardedParts) — so each record is measured once, whatever
 * arrives or settles meanwhile. The cursor is stored with the meter: a restart resumes where it was.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { run } from '../../db/sql.ts';
import { transaction } from '../../db/transaction.ts';
import { PeriodicJob } from '../../jobs/periodic-job.ts';
import { recordChunks } from '../../reads/record-chunks.ts';
import type { IngestQueue } from '../../writer/ingest-queue.ts';
import type { Meter } from './definition.ts';
import { foldMeters, type MeterProjection } from './meters.ts';

/** Records measured per writer turn (about 50–100 ms of the writer). */
export const METER_BACKFILL_CHUNK_RECORDS = 20_000;

/** Past every time a record can have (2^64 ns is year 2554). */
const END_OF_TIME_MICROS = 20_000_000_000_000_000n;

/**
 * Measures the stored records of `id` from its cursor up to `toMicros` (null: all of them), and moves the cursor
 * there, in one transaction. False when the meter is gone or already complete.
 */
export async function backfillChunk(
  conn: DuckDBConnection,
  meters: MeterProjection,
  id: string,
  toMicros: bigint | null,
): Promise<boolean> {
  const meter = meters.meters.find((m) => m.id === id);
  if (meter === undefined || meter.backfillCursorMicros === null) return false;
  const from = meter.backfillCursorMicros;
  if (toMicros !== null && toMicros <= from) return true;
  await transaction(conn, async (afterCommit) => {
    const range =
      toMicros === null
        ? 'ts >= make_timestamp(?::BIGINT)'
        : 'ts >= make_timestamp(?::BIGINT) AND ts < make_timestamp(?::BIGINT)';
    await foldMeters(
      conn,
      `(SELECT * FROM records WHERE NOT attribution_pending AND ${range})`,
      toMicros === null ? [from] : [from, toMicros],
      [{ ...meter, backfillCursorMicros: null }],
    );
    await run(conn, 'UPDATE meters SET backfill_cursor_us = ? WHERE id = ?', [toMicros, id]);
    afterCommit(() =>
      meters.set(meters.meters.map((m): Meter => (m.id === id ? { ...m, backfillCursorMicros: toMicros } : m))),
    );
  });
  return true;
}

/** Runs the backfill of every meter that has one, a chunk per writer turn, until done or stopped. */
export class MeterBackfiller {
  /** Runs only when kicked (no period), at start and for each new meter; a failure waits for the next kick. */
  private readonly job: PeriodicJob<void>;

  constructor(
    private readonly queue: IngestQueue,
    /** The writer's meter definitions (the cursors live there). */
    private readonly meters: MeterProjection,
    log: (message: string, err: unknown) => void,
    private readonly chunkRecords = METER_BACKFILL_CHUNK_RECORDS,
  ) {
    this.job = new PeriodicJob({
      run: () => this.loop(),
      periodMs: null,
      runOnStart: true,
      whenStopped: () => undefined,
      log,
      failureMessage: 'meter backfill failed; it resumes at the next start or meter',
    });
  }

  /** Backfills every incomplete meter now. */
  start(): void {
    this.job.start();
  }

  /** Starts (or, when running, re-scans after) the backfill of every incomplete meter. */
  kick(): void {
    this.job.wake();
  }

  /** Resolves once no backfill is running (a chunk in progress ends first). */
  idle(): Promise<void> {
    return this.job.idle();
  }

  stop(): Promise<void> {
    return this.job.stop();
  }

  private async loop(): Promise<void> {
    const pending = await this.queue.exclusive(async () =>
      this.meters.meters.filter((m) => m.backfillCursorMicros !== null),
    );
    for (const meter of pending) {
      const chunks = await this.queue.exclusive((conn) =>
        recordChunks(conn, meter.backfillCursorMicros ?? 0n, END_OF_TIME_MICROS, this.chunkRecords),
      );
      for (const [, to] of chunks) {
        if (this.job.stopping) return;
        if (!(await this.queue.exclusive((conn) => backfillChunk(conn, this.meters, meter.id, to)))) break;
      }
      if (this.job.stopping) return;
      // Whatever arrived past the planned chunks, and then the meter is complete.
      await this.queue.exclusive((conn) => backfillChunk(conn, this.meters, meter.id, null));
    }
  }
}
