/**
 * Finding stored spans without an index in memory (docs/architecture.md, "Dedupe without an index in memory"; README "Memory"). `records` has no
 * primary key: DuckDB keeps an ART index in memory as it grows (measured ~125 MB per million spans). A span's
 * identity is (trace_id, span_id) and its start time: a re-send carries the same start, so it lies in the same
 * time block as the stored copy, however many days later it comes. Each look-up reads only the rows of its block's
 * time range: DuckDB's zone maps (min/max of `ts` per row group of 122,880 rows) skip every other row group.
 *
 * Worst case: rows written far out of time order (a backfill of old days interleaved with live traffic) make wide
 * zone maps, and a look-up then reads every row group whose range overlaps its block — the cost grows with those
 * row groups, never the answer. Live traffic arrives in time order and reads one or two row groups per block.
 */
import { type DuckDBConnection, timestampValue } from '@duckdb/node-api';
import { DAY_MICROS } from '../core/time.ts';
import { appendRows } from '../db/appender.ts';
import { col, rows } from '../db/sql.ts';

export interface SpanKey {
  readonly traceId: string;
  readonly spanId: string;
  /** The span's start, µs (`records.ts`). */
  readonly tsMicros: bigint;
}

export interface TimeBlock<T> {
  readonly loMicros: bigint;
  readonly hiMicros: bigint;
  readonly items: T[];
}

/** A batch's items by UTC day of their time, each block with the exact min and max of its items. Pure. */
export function timeBlocks<T>(items: readonly T[], micros: (item: T) => bigint): TimeBlock<T>[] {
  const byDay = new Map<bigint, { lo: bigint; hi: bigint; items: T[] }>();
  for (const item of items) {
    const t = micros(item);
    const day = t / DAY_MICROS;
    const block = byDay.get(day);
    if (block === undefined) byDay.set(day, { lo: t, hi: t, items: [item] });
    else {
      block.items.push(item);
      if (t < block.lo) block.lo = t;
      if (t > block.hi) block.hi = t;
    }
  }
  return [...byDay.values()].map((b) => ({ loMicros: b.lo, hiMicros: b.hi, items: b.items }));
}

/** SQL bounding `column` to [lo, hi] µs, as literals so the scan's zone maps apply (values are bigints we made). */
export function tsBetween(column: string, loMicros: bigint, hiMicros: bigint): string {
  return `${column} BETWEEN make_timestamp(${BigInt(loMicros)}::BIGINT) AND make_timestamp(${BigInt(hiMicros)}::BIGINT)`;
}

export const keyOf = (traceId: string, spanId: string): string => `${traceId}/${spanId}`;

/**
 * The keys of `spans` already in `records` (visible to the caller's transaction), as `keyOf` strings. One append of
 * the keys, one join per time block.
 */
export async function storedAlready(conn: DuckDBConnection, spans: readonly SpanKey[]): Promise<Set<string>> {
  const found = new Set<string>();
  if (spans.length === 0) return found;
  await appendRows(conn, 'stage_span_keys', (app) => {
    for (const s of spans) {
      app.appendVarchar(s.traceId);
      app.appendVarchar(s.spanId);
      app.appendTimestamp(timestampValue(s.tsMicros));
      app.endRow();
    }
  });
  try {
    for (const block of timeBlocks(spans, (s) => s.tsMicros)) {
      const hits = await rows(
        conn,
        `SELECT r.trace_id, r.span_id FROM records r JOIN stage_span_keys k
           ON r.trace_id = k.trace_id AND r.span_id = k.span_id AND r.ts = k.ts
         WHERE ${tsBetween('r.ts', block.loMicros, block.hiMicros)}`,
        [],
        (r) => keyOf(String(col(r, 'trace_id')), String(col(r, 'span_id'))),
      );
      for (const h of hits) found.add(h);
    }
  } finally {
    await conn.run('DELETE FROM stage_span_keys');
  }
  return found;
}
