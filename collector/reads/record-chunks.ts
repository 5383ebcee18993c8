/**
 * Time chunks of stored records, planned from the rollup: what re-pricing (one transaction per chunk) and a new
 * meter's backfill (one writer turn per chunk) walk, so neither holds the writer for the whole store.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { SLOT_MICROS } from '../core/time.ts';
import { big, num, rows } from '../db/sql.ts';

/** Records per chunk (about): consecutive slots are joined until they hold this many. */
export const CHUNK_RECORDS = 10_000;

/**
 * [from, to) ranges of µs covering the slots of [fromMicros, toMicros) that hold any record (from the rollup), in
 * order, each of whole 15-minute slots holding about CHUNK_RECORDS records (a bigger slot on its own).
 */
export async function recordChunks(
  conn: DuckDBConnection,
  fromMicros: bigint,
  toMicros: bigint,
  chunkRecords = CHUNK_RECORDS,
): Promise<Array<readonly [bigint, bigint]>> {
  const slots = await rows(
    conn,
    `SELECT epoch_us(slot) AS slot_us, sum(records) AS n FROM rollup_15m
     WHERE slot >= make_timestamp(?::BIGINT) AND slot < make_timestamp(?::BIGINT) AND records > 0
     GROUP BY slot ORDER BY slot`,
    [fromMicros, toMicros],
    (r) => [big(r, 'slot_us'), num(r, 'n')] as const,
  );
  const chunks: Array<readonly [bigint, bigint]> = [];
  let start: bigint | null = null;
  let end = 0n;
  let records = 0;
  for (const [s, n] of slots) {
    if (start !== null && records + n > chunkRecords) {
      chunks.push([start, end]);
      start = null;
    }
    if (start === null) {
      start = s;
      records = 0;
    }
    records += Number(n);
    end = s + SLOT_MICROS;
  }
  if (start !== null) chunks.push([start, end]);
  return chunks;
}
