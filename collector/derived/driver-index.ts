/**
 * The cost-driver index of ended days (docs/architecture.md, "Cost drivers"): what `GET /v1/cost-drivers` by model,
 * vendor or service reads for a day instead of its per-trace summaries. Built with the insight index's trace days
 * (features/insights/insight-index.ts: same days, same un-indexing by late data and re-pricing), per UTC day, kind
 * and group, from `driver_slots`:
 * - `driver_days`: cost, cost-bearing records and traces of the traces whole on that day (no parts on other days);
 * - `driver_buckets`: those traces' costs as a DDSketch (metrics/quantile-sketch.ts): traces per bucket;
 * - `driver_top`: the day's TOP_PER_DAY costliest of them (outlier candidates);
 * - `driver_parts`: every other trace's parts that day, exact, regrouped at read time with their other days.
 * A trace found later to have parts on another day leaves the day's sketch (rows of −1 appended: counts are sums) and
 * joins `driver_parts`, so no trace is counted twice. Rows are only appended or deleted with their day.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { dayDate } from '../core/time.ts';
import { bucketSql } from '../metrics/quantile-sketch.ts';

/** The groupings the index serves, and their `driver_slots` column (the others are read exactly). */
export const SKETCHED = { model: 'llm_model', vendor: 'llm_vendor', service: 'service_name' } as const;
export type SketchedGroup = keyof typeof SKETCHED;

/** Outlier candidates kept per day and group: the window's five are among the union of its days'. */
export const TOP_PER_DAY = 16;

/**
 * Per trace, kind and group: the trace's cost and records on each of `days` (summed parts, as cost drivers read them;
 * a trace whose records in a group all lost their cost is not in it). `kinds` limits the groupings, `traces` (SQL
 * of a trace_id relation) the traces; the days' time range bounds the scan (zone maps).
 */
export function tracePartsOf(
  days: readonly number[],
  kinds: readonly SketchedGroup[] = Object.keys(SKETCHED) as SketchedGroup[],
  traces?: string,
): string {
  const lo = Math.min(...days);
  const hi = Math.max(...days) + 1;
  const where = [
    `slot >= ${dayDate(lo)} AND slot < ${dayDate(hi)}`,
    `CAST(slot AS DATE) IN (${days.map(dayDate).join(', ')})`,
    ...(traces === undefined ? [] : [`trace_id IN (${traces})`]),
  ].join(' AND ');
  return kinds
    .map(
      (kind) =>
        `SELECT CAST(slot AS DATE) AS day, '${kind}' AS kind, ${SKETCHED[kind]} AS g, trace_id, sum(cost) AS c,
           sum(records) AS n
         FROM driver_slots WHERE ${where} GROUP BY ALL HAVING sum(records) > 0`,
    )
    .join(' UNION ALL ');
}

/**
 * Indexes `days` (day numbers) in the writer's open transaction, after their `trace_index` rows were written and
 * before other days' rows of the same traces lose `whole` (so those traces can be taken out of their sketches).
 */
export async function indexDriverDays(conn: DuckDBConnection, days: readonly number[]): Promise<void> {
  const inList = `(${days.map(dayDate).join(', ')})`;
  await conn.run(`CREATE OR REPLACE TEMP TABLE driver_new AS
    SELECT p.*, i.whole FROM (${tracePartsOf(days)}) p JOIN trace_index i USING (day, trace_id)`);
  await conn.run(`INSERT INTO driver_parts SELECT day, kind, g, trace_id, c, n FROM driver_new WHERE NOT whole`);
  await conn.run(`INSERT INTO driver_days
    SELECT day, kind, g, sum(c), sum(n), count(*) FROM driver_new WHERE whole GROUP BY ALL`);
  await conn.run(`INSERT INTO driver_buckets
    SELECT day, kind, g, ${bucketSql('c')} AS bucket, count(*) FROM driver_new WHERE whole GROUP BY ALL`);
  await conn.run(`INSERT INTO driver_top
    SELECT day, kind, g, trace_id, c FROM driver_new WHERE whole
    QUALIFY row_number() OVER (PARTITION BY day, kind, g ORDER BY c DESC, trace_id) <= ${TOP_PER_DAY}`);
  // Traces of the new days with parts on other indexed days where they were whole: out of those days' sketches.
  await conn.run(`CREATE OR REPLACE TEMP TABLE driver_leaving AS
    SELECT i.day, i.trace_id FROM trace_index i
    WHERE i.day NOT IN ${inList} AND i.whole
      AND i.trace_id IN (SELECT trace_id FROM trace_index WHERE day IN ${inList} AND NOT whole)`);
  await leaveSketches(conn, 'driver_leaving');
  await conn.run('DROP TABLE driver_new');
  await conn.run('DROP TABLE driver_leaving');
}

/**
 * Takes the traces of `relation` (day, trace_id: whole on an indexed day until now) out of that day's sketch, sums
 * and outlier candidates, and keeps their parts in `driver_parts` instead.
 */
async function leaveSketches(conn: DuckDBConnection, relation: string): Promise<void> {
  const count = (await conn.runAndReadAll(`SELECT count(*) FROM ${relation}`)).getRows()[0]?.[0];
  if (Number(count) === 0) return;
  const days = (await conn.runAndReadAll(`SELECT DISTINCT (day - DATE '1970-01-01')::INTEGER FROM ${relation}`))
    .getRows()
    .map((r) => Number(r[0]));
  await conn.run(`CREATE OR REPLACE TEMP TABLE driver_moved AS
    SELECT p.* FROM (${tracePartsOf(days, undefined, `SELECT trace_id FROM ${relation}`)}) p
    JOIN ${relation} l USING (day, trace_id)`);
  await conn.run('INSERT INTO driver_parts SELECT day, kind, g, trace_id, c, n FROM driver_moved');
  await conn.run(
    'INSERT INTO driver_days SELECT day, kind, g, -sum(c), -sum(n), -count(*) FROM driver_moved GROUP BY ALL',
  );
  await conn.run(`INSERT INTO driver_buckets
    SELECT day, kind, g, ${bucketSql('c')} AS bucket, -count(*) FROM driver_moved GROUP BY ALL`);
  await conn.run(`DELETE FROM driver_top t USING ${relation} l WHERE t.day = l.day AND t.trace_id = l.trace_id`);
  await conn.run('DROP TABLE driver_moved');
}

/** Within un-indexing: the days' index rows go with them (`inList`: SQL list of DATEs). */
export async function unindexDriverDays(conn: DuckDBConnection, inList: string): Promise<void> {
  for (const table of ['driver_days', 'driver_buckets', 'driver_top', 'driver_parts']) {
    await conn.run(`DELETE FROM ${table} WHERE day IN ${inList}`);
  }
}
