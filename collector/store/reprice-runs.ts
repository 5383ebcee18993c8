/**
 * Re-pricing runs (`reprice_runs`, migration 14): one row per `POST /v1/prices/reprice`, its window and book
 * version, how far it got — `done_through_us` and the tallies are updated in each chunk's own transaction, so the
 * row says exactly what is re-priced even after a `kill -9` — and when it finished. A row left unfinished by a
 * stop or crash is reported by `GET /v1/prices` as `interrupted`; re-pricing the same window again completes it
 * (re-pricing is idempotent: the part already done changes nothing the second time).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { decimalText } from './appender.ts';
import { decimal } from './metric-reads.ts';

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
  const rows = (
    await conn.runAndReadAll(
      `INSERT INTO reprice_runs
       SELECT coalesce(max(id), 0) + 1, make_timestamp(?::BIGINT), ?::BIGINT, ?::BIGINT, ?::INTEGER, NULL, NULL, 0, 0, 0
       FROM reprice_runs RETURNING id`,
      [nowMicros, fromMicros, toMicros, priceVersion] as never,
    )
  ).getRows();
  return Number(rows[0]?.[0]);
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
    [doneThroughMicros, chunk.records, chunk.changed, decimalText(chunk.deltaPicocents), id] as never,
  );
}

export async function finishRun(conn: DuckDBConnection, id: number, nowMicros: bigint): Promise<void> {
  await conn.run('UPDATE reprice_runs SET finished_at = make_timestamp(?::BIGINT) WHERE id = ?', [
    nowMicros,
    id,
  ] as never);
}

export async function lastRun(conn: DuckDBConnection): Promise<RepriceRun | null> {
  const rows = (
    await conn.runAndReadAll(
      `SELECT id, epoch_us(started_at), from_us, to_us, price_version, done_through_us, epoch_us(finished_at), records,
         changed, delta::VARCHAR
       FROM reprice_runs ORDER BY id DESC LIMIT 1`,
    )
  ).getRows();
  const r = rows[0];
  if (r === undefined) return null;
  return {
    id: Number(r[0]),
    startedAtMicros: BigInt(r[1] as bigint),
    fromMicros: BigInt(r[2] as bigint),
    toMicros: BigInt(r[3] as bigint),
    priceVersion: Number(r[4]),
    doneThroughMicros: r[5] === null ? null : BigInt(r[5] as bigint),
    finishedAtMicros: r[6] === null ? null : BigInt(r[6] as bigint),
    records: Number(r[7]),
    changed: Number(r[8]),
    deltaPicocents: decimal(r[9]),
  };
}
