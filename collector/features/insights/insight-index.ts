/**
 * What a year of insights reads instead of a million rows of the rollup and the per-trace summaries (issue 12:
 * `GET /v1/insights` for a year at 10M records): two indexes of ended periods, built off the ingest path by
 * `InsightIndexer` (insight-indexer.ts) and kept exact by the write paths:
 * - `rollup_months`: `rollup_15m` summed per customer and UTC month, for months that ended over an hour ago;
 * - `trace_index`: per UTC day that ended over an hour ago, one row per trace with parts that day — its cost and span
 *   count that day (all customers), its root name, and `whole`: the trace has parts on no other day.
 * `indexed_periods` lists what is indexed. Reads take an indexed period from its index and any other from the
 * live tables (insight-reads.ts).
 *
 * Exactness: every change of an indexed period goes through here. A rollup change in an indexed month is added
 * to `rollup_months` in the same transaction (`rollupChanged`). A summary part for an indexed day un-indexes that
 * day in the same transaction (`unindexDays`): it is read live until the indexer indexes it again. Indexing days
 * also clears `whole` and refreshes the root name of the same traces' rows on other days, so a trace spread over
 * days is always regrouped from its parts (reads: a trace with a row not `whole`, without a root name, or with
 * live parts is summed from all its parts in the window). The writer keeps the indexed periods in memory, so the
 * hot path checks them without a statement.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { DAY_MICROS, dayDate, dayNumber } from '../../core/time.ts';
import { col, num, rows } from '../../db/sql.ts';
import { indexDriverDays, unindexDriverDays } from '../../derived/driver-index.ts';
import type { RollupListener } from '../../derived/rollup.ts';
import type { DayIndex } from '../../derived/trace-summaries.ts';
import type { Projection, Repriced, WriteTx } from '../../writer/projection.ts';
import { budgetWindow } from '../budgets/windows.ts';

/**
 * The indexed periods, in the writer's memory (loaded at start, changed after COMMIT): the hot path checks them
 * without a statement. A rollup listener (late rollup changes of indexed months), the day index of the trace
 * summaries (a new part un-indexes its day) and a projection (re-pricing un-indexes the days it touches).
 */
export class InsightIndex implements RollupListener, DayIndex, Projection {
  readonly name = 'insight index';
  /** UTC day numbers (days since 1970-01-01) of indexed trace days. */
  private readonly days = new Set<number>();
  /** Day numbers of the first day of indexed months. */
  private readonly months = new Set<number>();

  /** Loads the indexed periods (at start). */
  async load(conn: DuckDBConnection): Promise<void> {
    const periods = await rows(
      conn,
      `SELECT kind, ${dayNumber('period')} AS day_number FROM indexed_periods`,
      [],
      (r) => ({ kind: col(r, 'kind'), day: num(r, 'day_number') }),
    );
    this.days.clear();
    this.months.clear();
    for (const { kind, day } of periods) (kind === 'day' ? this.days : this.months).add(day);
  }

  /** After the indexer's transaction committed: these periods are indexed now. */
  periodsIndexed(kind: 'day' | 'month', days: readonly number[]): void {
    for (const d of days) (kind === 'day' ? this.days : this.months).add(d);
  }

  /**
   * Within the rollup upsert: adds the staged change (`stage_rollup`) to `rollup_months` where it falls in an
   * indexed month. `deltas` (the change's slots, when the write has them) skip the statement when none does.
   */
  async rollupChanged(tx: WriteTx, deltas: ReadonlyArray<{ readonly slotMicros: bigint }> | undefined): Promise<void> {
    if (this.months.size === 0) return;
    if (deltas && !deltas.some((d) => this.months.has(monthStartDay(d.slotMicros)))) return;
    await tx.conn.run(`INSERT INTO rollup_months
      SELECT customer_key, CAST(date_trunc('month', slot) AS DATE) AS month, sum(revenue), sum(costs), sum(records)
      FROM stage_rollup
      WHERE CAST(date_trunc('month', slot) AS DATE) IN (SELECT period FROM indexed_periods WHERE kind = 'month')
      GROUP BY ALL
      ON CONFLICT (customer_key, month) DO UPDATE SET revenue = rollup_months.revenue + excluded.revenue,
        costs = rollup_months.costs + excluded.costs, records = rollup_months.records + excluded.records`);
  }

  /** Whether any trace day is indexed (writes that add summary parts then report their days to `unindexDays`). */
  anyIndexed(): boolean {
    return this.days.size > 0;
  }

  /** Within a write that adds summary parts: un-indexes the indexed days among `days` (day numbers). */
  async unindexDays(tx: WriteTx, days: Iterable<number>): Promise<void> {
    if (this.days.size === 0) return;
    const list = [...new Set(days)].filter((d) => this.days.has(d));
    if (list.length === 0) return;
    const inList = `(${list.map(dayDate).join(', ')})`;
    await tx.conn.run(`DELETE FROM trace_index WHERE day IN ${inList}`);
    await unindexDriverDays(tx.conn, inList);
    await tx.conn.run(`DELETE FROM indexed_periods WHERE kind = 'day' AND period IN ${inList}`);
    tx.afterCommit(() => {
      for (const d of list) this.days.delete(d);
    });
  }

  /** Re-pricing a chunk of time un-indexes its days (and the day on each side). */
  async recordsRepriced(tx: WriteTx, r: Repriced): Promise<void> {
    const first = Number(r.fromMicros / DAY_MICROS) - 1;
    const last = Number(r.toMicros / DAY_MICROS) + 1;
    await this.unindexDays(
      tx,
      [...this.days].filter((d) => d >= first && d <= last),
    );
  }
}

export function monthStartDay(slotMicros: bigint): number {
  return Number(budgetWindow('month', slotMicros).startMicros / DAY_MICROS);
}

/** The day number after the last day of the month starting on day number `monthStart`. */
export function monthEndDay(monthStart: number): number {
  return Number(budgetWindow('month', BigInt(monthStart) * DAY_MICROS).endMicros / DAY_MICROS);
}

/** Indexes the trace days `days` (day numbers; ended, not indexed) in the writer's open transaction. */
export async function indexTraceDays(conn: DuckDBConnection, days: readonly number[]): Promise<void> {
  const inList = `(${days.map(dayDate).join(', ')})`;
  await conn.run(`INSERT INTO trace_index (day, trace_id, root_name, cost, span_count, whole)
    WITH p AS (
      SELECT day, trace_id, sum(cost) AS cost, sum(span_count) AS spans FROM trace_days
      WHERE day IN ${inList} GROUP BY day, trace_id),
    multi AS (
      SELECT trace_id FROM trace_days WHERE trace_id IN (SELECT trace_id FROM p)
      GROUP BY trace_id HAVING count(DISTINCT day) > 1),
    r AS (
      SELECT trace_id, arg_min(root_name, (root_start_ns, root_name)) AS root_name FROM trace_roots
      WHERE trace_id IN (SELECT trace_id FROM p) GROUP BY trace_id)
    SELECT p.day, p.trace_id, r.root_name, p.cost, p.spans, multi.trace_id IS NULL
    FROM p LEFT JOIN multi USING (trace_id) LEFT JOIN r USING (trace_id)`);
  // The cost-driver index of the same days (it takes traces that stop being whole out of other days' sketches).
  await indexDriverDays(conn, days);
  // The same traces' rows on other (indexed) days: not whole any more if these days hold parts of them too, and
  // their root name as known now.
  await conn.run(`UPDATE trace_index i SET whole = i.whole AND n.whole, root_name = n.root_name
    FROM (SELECT trace_id, bool_and(whole) AS whole, any_value(root_name) AS root_name FROM trace_index
          WHERE day IN ${inList} GROUP BY trace_id) n
    WHERE i.trace_id = n.trace_id AND i.day NOT IN ${inList}
      AND (i.whole AND NOT n.whole OR i.root_name IS DISTINCT FROM n.root_name)`);
  await conn.run(`INSERT INTO indexed_periods VALUES ${days.map((d) => `('day', ${dayDate(d)})`).join(', ')}`);
}

/** Indexes the month starting on day number `month` (ended, not indexed) in the writer's open transaction. */
export async function indexMonth(conn: DuckDBConnection, month: number): Promise<void> {
  const start = dayDate(month);
  await conn.run(`INSERT INTO rollup_months
    SELECT customer_key, ${start}, sum(revenue), sum(costs), sum(records) FROM rollup_15m
    WHERE slot >= ${start} AND slot < ${start} + INTERVAL 1 MONTH GROUP BY customer_key`);
  await conn.run(`INSERT INTO indexed_periods VALUES ('month', ${start})`);
}
