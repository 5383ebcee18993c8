/**
 * Re-pricing runs (`reprice_runs`, migration 14): one row per `POST /v1/prices/reprice`, its window and book
 * version, how far it got — `done_through_us` and the tallies are updated in each chunk's own transaction, so the
 * row says exactly what is re-priced even after a `kill -9` — and when it finished. A row left unfinished by a
 * stop or crash is reported by `GET /v1/prices` as `interrupted`; re-pricing the same window again completes it
 * (re-pricing is idempotent: the part already done changes nothing the second time).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { decimalText } from '../../db/appender.ts';
import { decimal } from '../../db/money-values.ts';
import { big, col, num, one } from '../../db/sql.ts';

export interface RepriceRun {
  readonly id: number;
  readonly startedAtMicros: bigint;
  readonly fromMicros: bigint;
  readonly toMicros: bigint;
  readonly priceVersion: number;
  /** Records that started before this are re-priced (null: no chunk committed yet). */
  readonly doneThroughMicros: bigint | null;
  readonly finishedAtMicros: bigint | null;
  readonly records: number;
  readonly changed: number;
  readonly deltaPicocents: bigint;
}

export async function startRun(
  conn: DuckDBConnection,
  fromMicros: bigint,
  toMicros: bigint,
  priceVersion: number,
  nowMicros: bigint,
): Promise<number> {
  const id = await one(
    conn,
    `INSERT INTO reprice_runs
       SELECT coalesce(max(id), 0) + 1, make_timestamp(?::BIGINT), ?::BIGINT, ?::BIGINT, ?::INTEGER, NULL, NULL, 0, 0, 0
       FROM reprice_runs RETURNING id`,
    [nowMicros, fromMicros, toMicros, priceVersion],
    (r) => col(r, 'id'),
  );
  return Number(id);
}

/** A chunk's progress; run inside the chunk's transaction. */
export async function recordChunk(
  conn: DuckDBConnection,
  id: number,
  doneThroughMicros: bigint,
  chunk: { records: number; changed: number; deltaPicocents: bigint },
): Promise<void> {
  await conn.run(
    `UPDATE reprice_runs SET done_through_us = ?::BIGINT, records = records + ?::BIGINT,
       changed = changed + ?::BIGINT, delta = delta + ?::DECIMAL(38,12) WHERE id = ?`,
    [doneThroughMicros, chunk.records, chunk.changed, decimalText(chunk.deltaPicocents), id],
  );
}

export async function finishRun(conn: DuckDBConnection, id: number, nowMicros: bigint): Promise<void> {
  await conn.run('UPDATE reprice_runs SET finished_at = make_timestamp(?::BIGINT) WHERE id = ?', [nowMicros, id]);
}

export async function lastRun(conn: DuckDBConnection): Promise<RepriceRun | null> {
  const run = await one(
    conn,
    `SELECT id, epoch_us(started_at) AS started_us, from_us, to_us, price_version, done_through_us,
       epoch_us(finished_at) AS finished_us, records, changed, delta::VARCHAR AS delta
     FROM reprice_runs ORDER BY id DESC LIMIT 1`,
    [],
    (r): RepriceRun => ({
      id: num(r, 'id'),
      startedAtMicros: big(r, 'started_us'),
      fromMicros: big(r, 'from_us'),
      toMicros: big(r, 'to_us'),
      priceVersion: num(r, 'price_version'),
      doneThroughMicros: col(r, 'done_through_us') === null ? null : big(r, 'done_through_us'),
      finishedAtMicros: col(r, 'finished_us') === null ? null : big(r, 'finished_us'),
      records: num(r, 'records'),
      changed: num(r, 'changed'),
      deltaPicocents: decimal(col(r, 'delta')),
    }),
  );
  return run ?? null;
}
