/**
 * Cost drivers by model, vendor or service for all customers, from the index of ended days (derived/driver-index.ts)
 * plus an exact read of the rest — so a window of months reads a few rows per day and group instead of a row per
 * trace. Totals, records and trace counts are exact; p50/p90/p99 come from the merged DDSketch, each within
 * SKETCH_RELATIVE_ERROR of the exact quantile; outliers are real traces at or above that p99.
 *
 * The exact part (temp table `cd_live`): events, allocations and pending spans of the window (from records), the
 * summaries of days in the window not indexed (edges of a local-time window, today, days late data un-indexed), and
 * the parts of traces not whole on an indexed day (`driver_parts`). A trace of the exact part that is whole on an
 * indexed day of the window (late data after the day was indexed, a span still pending) leaves that day's sketch here
 * and is summed from its parts (`trace_index` of the days next to the exact part's summaries, and of every indexed
 * day of the window for spans still pending). Limit: a trace whose settled parts lie two or more days apart, the later
 * one arriving after the earlier day was indexed, counts twice until the later day is indexed in turn.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Picocents } from '../../src/money.ts';
import { DAY_MICROS, dayDate, dayNumber } from '../core/time.ts';
import { decimal } from '../db/money-values.ts';
import { col, num, read, run, type SqlParams, textOrNull } from '../db/sql.ts';
import { SKETCHED, type SketchedGroup, tracePartsOf } from '../derived/driver-index.ts';
import { addKey, bucketFloor, bucketSql, bucketValue, quantileKeys, type Sketch } from '../metrics/quantile-sketch.ts';

export interface SketchGroup {
  readonly key: string | null;
  cost: Picocents;
  records: number;
  traces: number;
  readonly sketch: Sketch;
  /** Outlier candidates: trace key → cost. */
  readonly candidates: Map<string, Picocents>;
}

export interface SketchedAnswer {
  readonly groups: Array<{
    key: string | null;
    cost: Picocents;
    records: number;
    traces: number;
    p50: Picocents;
    p90: Picocents;
    p99: Picocents;
    outliers: Array<{ traceKey: string; cost: Picocents }>;
  }>;
  readonly total: Picocents;
  /** Days answered from the index (the rest were read exactly). */
  readonly indexedDays: number;
}

const OUTLIERS_PER_GROUP = 5;

/**
 * `liveRecords(column)`: SQL of the window's records read live (columns tk, cost, records, g, traced, ts), as the exact
 * read defines them (cost-driver-reads.ts).
 */
export async function sketchedCostDrivers(
  conn: DuckDBConnection,
  window: { fromMicros: bigint; toMicros: bigint },
  groupBy: SketchedGroup,
  limit: number,
  liveRecords: (column: string) => { sql: string; params: SqlParams },
): Promise<SketchedAnswer | null> {
  const column = SKETCHED[groupBy];
  const firstDay = Number((window.fromMicros + DAY_MICROS - 1n) / DAY_MICROS);
  const endDay = Number(window.toMicros / DAY_MICROS); // days < endDay end inside the window
  const indexed = endDay <= firstDay ? [] : await indexedDays(conn, firstDay, endDay - 1);
  // Nothing indexed in the window: the exact read reads as little, and answers exactly.
  if (indexed.length === 0) return null;
  const indexedSet = new Set(indexed);
  const groups = new Map<string | null, SketchGroup>();
  const group = (key: string | null): SketchGroup => {
    let g = groups.get(key);
    if (g === undefined) {
      g = { key, cost: 0n, records: 0, traces: 0, sketch: new Map(), candidates: new Map() };
      groups.set(key, g);
    }
    return g;
  };
  const days = indexed.map(dayDate).join(', ');
  // The indexed days as a table (semi-joined): a literal IN list of a year's days made DuckDB compare each of them
  // per row — 40 ms for the index's sums and 300 ms for its outlier candidates at a year of days.
  await run(conn, `CREATE OR REPLACE TEMP TABLE cd_days AS SELECT unnest([${days}]::DATE[]) AS day`, []);
  const kind = `kind = '${groupBy}' AND day IN (SELECT day FROM cd_days)`;

  // 1. The exact part, per part.
  const live = liveRecords(column);
  const segments = liveSegments(window, indexedSet, firstDay, endDay);
  const slotParts = segments.map(
    ([lo, hi]) => `SELECT trace_id AS tk, cost, records, ${column} AS g, true AS traced, CAST(slot AS DATE) AS day,
        'slot' AS src FROM driver_slots WHERE slot >= make_timestamp(${lo}::BIGINT) AND slot < make_timestamp(${hi}::BIGINT)`,
  );
  await run(
    conn,
    `CREATE OR REPLACE TEMP TABLE cd_live AS
     SELECT tk, cost, records, g, traced, CAST(ts AS DATE) AS day, 'rec' AS src FROM (${live.sql})
     ${slotParts.map((s) => `UNION ALL ${s}`).join(' ')}
     UNION ALL SELECT trace_id, cost, records, g, true, day, 'ix' FROM driver_parts WHERE ${kind}`,
    live.params,
  );
  try {
    // 2. Traces of the exact part also whole on an indexed day of the window: out of that day's sketch, summed from
    // their parts there. Summaries of days not indexed can share a trace with an indexed day next to theirs (late
    // data after it was indexed); spans still pending, with any indexed day of the window.
    // One pass over the exact part: the days of its summaries, and whether it holds pending spans.
    const shape = await read(
      conn,
      `SELECT DISTINCT src, ${dayNumber('day')} FROM cd_live WHERE traced AND src IN ('slot', 'rec')`,
    );
    const near = new Set<number>();
    let pending = false;
    for (const [src, d] of shape.getRows()) {
      if (src === 'rec') pending = true;
      else for (const n of [Number(d) - 1, Number(d) + 1]) if (indexedSet.has(n)) near.add(n);
    }
    const whole = (inDays: string, src: string) => `SELECT day, trace_id FROM trace_index
      WHERE day IN (${inDays}) AND whole AND trace_id IN (SELECT tk FROM cd_live WHERE src = '${src}' AND traced)`;
    const wholeSql = [
      ...(near.size > 0 ? [whole([...near].map(dayDate).join(', '), 'slot')] : []),
      ...(pending ? [whole(days, 'rec')] : []),
    ];
    await conn.run(`CREATE OR REPLACE TEMP TABLE cd_whole AS
      SELECT DISTINCT day, trace_id FROM (${wholeSql.length > 0 ? wholeSql.join(' UNION ALL ') : 'SELECT NULL::DATE AS day, NULL AS trace_id LIMIT 0'})`);
    const leavingDays = (await read(conn, `SELECT DISTINCT ${dayNumber('day')} FROM cd_whole`))
      .getRows()
      .map((r) => Number(r[0]));
    if (leavingDays.length > 0) {
      await conn.run(`CREATE OR REPLACE TEMP TABLE cd_leaving AS
        SELECT p.day, p.g, p.trace_id AS tk, p.c, p.n
        FROM (${tracePartsOf(leavingDays, [groupBy], 'SELECT trace_id FROM cd_whole')}) p
        JOIN cd_whole w USING (day, trace_id)`);
      const leaving = await read(conn, `SELECT g, ${bucketSql('c')} AS bucket, tk, c::VARCHAR AS c, n FROM cd_leaving`);
      for (const r of leaving.getRowObjects()) {
        const g = group(textOrNull(r, 'g'));
        g.cost -= decimal(col(r, 'c'));
        g.records -= num(r, 'n');
        g.traces -= 1;
        addKey(g.sketch, num(r, 'bucket'), -1);
      }
      await conn.run(`INSERT INTO cd_live SELECT tk, c, n, g, true, day, 'ix' FROM cd_leaving`);
      await conn.run('DROP TABLE cd_leaving');
    }
    // 3. The index of the indexed days.
    for (const r of (
      await read(
        conn,
        `SELECT g, sum(cost)::VARCHAR AS cost, sum(records) AS records,
        sum(traces) AS traces FROM driver_days WHERE ${kind} GROUP BY g`,
      )
    ).getRowObjects()) {
      const g = group(textOrNull(r, 'g'));
      g.cost += decimal(col(r, 'cost'));
      g.records += num(r, 'records');
      g.traces += num(r, 'traces');
    }
    for (const r of (
      await read(
        conn,
        `SELECT g, bucket, sum(traces) AS traces FROM driver_buckets WHERE ${kind}
        GROUP BY g, bucket`,
      )
    ).getRowObjects()) {
      addKey(group(textOrNull(r, 'g')).sketch, num(r, 'bucket'), num(r, 'traces'));
    }
    // 4. The exact part per trace (re-priced parts that cancel out leave the group, as in the exact read).
    await conn.run(`CREATE OR REPLACE TEMP TABLE cd_exact AS
      SELECT g, tk, sum(cost) AS c, sum(records) AS n, bool_and(traced) AS traced FROM cd_live
      GROUP BY g, tk HAVING sum(records) > 0`);
    const exactBuckets = await read(
      conn,
      `SELECT g, bucket, count(*) AS traces, sum(c)::VARCHAR AS cost, sum(n) AS records
       FROM (SELECT g, ${bucketSql('c')} AS bucket, c, n FROM cd_exact) GROUP BY g, bucket`,
    );
    for (const r of exactBuckets.getRowObjects()) {
      const g = group(textOrNull(r, 'g'));
      g.cost += decimal(col(r, 'cost'));
      g.records += num(r, 'records');
      g.traces += num(r, 'traces');
      addKey(g.sketch, num(r, 'bucket'), num(r, 'traces'));
    }
    // Outlier candidates of the exact part: each group's five costliest traces (ties by trace key, as the exact read).
    const exactTop = await read(
      conn,
      `SELECT g, t.tk, t.c::VARCHAR AS c FROM (
         SELECT g, unnest(min_by({'tk': tk, 'c': c}, {'nc': -c, 'tk': tk}, ${OUTLIERS_PER_GROUP})) AS t
         FROM cd_exact WHERE traced GROUP BY g)`,
    );
    for (const r of exactTop.getRowObjects()) {
      group(textOrNull(r, 'g')).candidates.set(String(col(r, 'tk')), decimal(col(r, 'c')));
    }
    // The index's candidates not in the exact part (those are summed there): traces whole on their one day; each
    // group's five costliest, ranked as above (the answer keeps five at or above the p99, so five per source suffice).
    const indexTop = await read(
      conn,
      `SELECT g, t.tk, t.c::VARCHAR AS c FROM (
         SELECT g, unnest(min_by({'tk': trace_id, 'c': cost}, {'nc': -cost, 'tk': trace_id}, ${OUTLIERS_PER_GROUP})) AS t
         FROM driver_top WHERE ${kind} AND NOT EXISTS (SELECT 1 FROM cd_exact e WHERE e.tk = driver_top.trace_id)
         GROUP BY g)`,
    );
    for (const r of indexTop.getRowObjects()) {
      group(textOrNull(r, 'g')).candidates.set(String(col(r, 'tk')), decimal(col(r, 'c')));
    }
  } finally {
    await conn.run('DROP TABLE IF EXISTS cd_live');
    await conn.run('DROP TABLE IF EXISTS cd_exact');
    await conn.run('DROP TABLE IF EXISTS cd_whole');
    await conn.run('DROP TABLE IF EXISTS cd_days');
  }
  return answer([...groups.values()], limit, indexed.length);
}

function answer(all: SketchGroup[], limit: number, indexedDays: number): SketchedAnswer {
  const present = all.filter((g) => g.traces > 0);
  const total = present.reduce((sum, g) => sum + g.cost, 0n);
  present.sort((a, b) => (a.cost === b.cost ? compareKeys(a.key, b.key) : a.cost > b.cost ? -1 : 1));
  return {
    total,
    indexedDays,
    groups: present.slice(0, limit).map((g) => {
      const keys = quantileKeys(g.sketch, [0.5, 0.9, 0.99]);
      const [p50, p90, p99] = keys.map((k) => (k === null ? 0n : bucketValue(k))) as [bigint, bigint, bigint];
      // At or above the p99: every trace at or above the exact one lies at or above its bucket's floor.
      const floor = keys[2] === null || keys[2] === undefined ? 0n : bucketFloor(keys[2]);
      // The group without a key lists none, as the exact read (its outlier join is on the key) never has.
      const outliers = [...(g.key === null ? [] : g.candidates)]
        .filter(([, c]) => c >= floor)
        .sort(([ta, ca], [tb, cb]) => (ca === cb ? (ta < tb ? -1 : ta > tb ? 1 : 0) : ca > cb ? -1 : 1))
        .slice(0, OUTLIERS_PER_GROUP)
        .map(([traceKey, cost]) => ({ traceKey, cost }));
      return { key: g.key, cost: g.cost, records: g.records, traces: g.traces, p50, p90, p99, outliers };
    }),
  };
}

/** Groups by cost, then key with null last (as the exact read orders them). */
function compareKeys(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

async function indexedDays(conn: DuckDBConnection, first: number, last: number): Promise<number[]> {
  const r = await read(
    conn,
    `SELECT ${dayNumber('period')} FROM indexed_periods WHERE kind = 'day' AND period BETWEEN ${dayDate(first)} AND ${dayDate(last)}`,
  );
  return r.getRows().map((row) => Number(row[0]));
}

/** The window's time outside its indexed days, as [lo, hi) µs ranges. */
export function liveSegments(
  window: { fromMicros: bigint; toMicros: bigint },
  indexed: ReadonlySet<number>,
  firstDay: number,
  endDay: number,
): Array<[bigint, bigint]> {
  const out: Array<[bigint, bigint]> = [];
  let lo = window.fromMicros;
  for (let d = firstDay; d < endDay; d++) {
    if (!indexed.has(d)) continue;
    const start = BigInt(d) * DAY_MICROS;
    if (start > lo) out.push([lo, start]);
    lo = start + DAY_MICROS;
  }
  if (window.toMicros > lo) out.push([lo, window.toMicros]);
  return out;
}
