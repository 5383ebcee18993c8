/**
 * Anomalous traces of a window of whole UTC days (docs/contract.md §11): a trace whose cost in the window is at least
 * `multiple` × the mean of the window's traces with the same root name — exact: cost × n ≥ multiple × total.
 *
 * Read from the per-trace index (insight-index.ts) in three small steps instead of one join of a million rows
 * (measured at 10M records, a year: one statement ~180 ms, these ~100 ms):
 * 1. the traces that cannot be read as one index row (spread over days, root unknown when indexed, or with parts on
 *    days read live) — few — are summed from their parts, with their root names, in one statement;
 * 2. per root name, the total and count of the other traces (one grouped scan), corrected by step 1;
 * 3. the index rows at or above their root name's threshold (a scan filtered by the lowest threshold, then joined
 *    to the thresholds), plus step 1's traces at or above theirs; sorted by cost ÷ mean, exactly.
 * Runs inside the caller's read transaction (one snapshot of the index and the live tables).
 */
import { type DuckDBConnection, listValue } from '@duckdb/node-api';
import { dayDate } from '../../core/time.ts';
import { decimalText } from '../../db/appender.ts';
import { picocentsOf } from '../../db/money-values.ts';
import { col, num, rows } from '../../db/sql.ts';

export interface AnomalousTrace {
  readonly traceId: string;
  readonly rootName: string;
  readonly cost: bigint;
  readonly meanCost: bigint;
  readonly tracesWithName: number;
}

interface RootStats {
  total: bigint;
  n: number;
}

const NO_ROOT = '(root not received)';
/** Index rows that are a whole trace each, with their root known and a cost. */
const WHOLE = 'whole AND root_name IS NOT NULL AND span_count > 0 AND cost IS NOT NULL';

/**
 * Past this many days read live in the window (a store whose index is still being built, e.g. just after the
 * upgrade), step 1 would carry most traces into JavaScript: the window is then read from the parts in one statement
 * (`fromParts`, exact too; ~1.3 s for a year at 10M records).
 */
export const MAX_LIVE_DAYS_FOR_INDEX = 7;

export async function anomalousTraces(
  conn: DuckDBConnection,
  fromDay: number,
  toDay: number,
  /** The window's days read live (not indexed), as half-open day ranges. */
  live: ReadonlyArray<[number, number]>,
  multiple: number,
  limit: number,
): Promise<AnomalousTrace[]> {
  const liveCount = live.reduce((n, [a, b]) => n + b - a, 0);
  if (liveCount > MAX_LIVE_DAYS_FOR_INDEX) return fromParts(conn, fromDay, toDay, multiple, limit);
  const inWindow = `day >= ${dayDate(fromDay)} AND day < ${dayDate(toDay)}`;
  const liveDays =
    live.length === 0 ? 'false' : live.map(([a, b]) => `(day >= ${dayDate(a)} AND day < ${dayDate(b)})`).join(' OR ');
  // 1. Traces summed from their parts (index rows of such traces and the live parts), with their root names ('g');
  // and those traces' rows that step 2 counts as whole traces, to take back out ('x').
  const regroupRows = await rows(
    conn,
    `WITH live AS (
         SELECT trace_id, sum(cost) AS cost, sum(span_count) AS spans FROM trace_days
         WHERE ${inWindow} AND (${liveDays}) GROUP BY trace_id),
       nw AS (
         SELECT trace_id FROM trace_index WHERE ${inWindow} AND (NOT whole OR root_name IS NULL)
         UNION SELECT trace_id FROM live),
       parts AS MATERIALIZED (
         SELECT trace_id, cost, span_count AS spans, ${WHOLE} AS counted, root_name FROM trace_index
         WHERE ${inWindow} AND trace_id IN (SELECT trace_id FROM nw)
         UNION ALL SELECT trace_id, cost, spans, false, NULL FROM live),
       g AS (
         SELECT trace_id, sum(cost) AS cost FROM parts GROUP BY trace_id
         HAVING sum(spans) > 0 AND sum(cost) IS NOT NULL),
       r AS (
         SELECT trace_id, arg_min(root_name, (root_start_ns, root_name)) AS root_name FROM trace_roots
         WHERE trace_id IN (SELECT trace_id FROM g) GROUP BY trace_id)
       SELECT 'g' AS kind, g.trace_id, coalesce(r.root_name, '${NO_ROOT}') AS root_name, g.cost
       FROM g LEFT JOIN r USING (trace_id)
       UNION ALL SELECT 'x', trace_id, root_name, cost FROM parts WHERE counted`,
    [],
    (r) => ({
      kind: col(r, 'kind'),
      traceId: String(col(r, 'trace_id')),
      root: String(col(r, 'root_name')),
      cost: picocentsOf(col(r, 'cost')),
    }),
  );
  const stats = new Map<string, RootStats>();
  const add = (root: string, cost: bigint, n: number) => {
    const s = stats.get(root) ?? { total: 0n, n: 0 };
    s.total += cost;
    s.n += n;
    stats.set(root, s);
  };
  const regrouped: Array<{ traceId: string; root: string; cost: bigint }> = [];
  const takenOut = new Set<string>();
  for (const { kind, ...t } of regroupRows) {
    if (kind === 'g') regrouped.push(t);
    else {
      takenOut.add(t.traceId);
      add(t.root, -t.cost, -1);
    }
  }
  // 2. Per root name: every whole row (one grouped scan), minus step 1's traces counted there, plus step 1's sums.
  for (const w of await rows(
    conn,
    `SELECT root_name, sum(cost) AS total, count(*) AS n FROM trace_index WHERE ${inWindow} AND ${WHOLE}
     GROUP BY root_name`,
    [],
    (r) => ({ root: String(col(r, 'root_name')), total: picocentsOf(col(r, 'total')), n: num(r, 'n') }),
  )) {
    add(w.root, w.total, w.n);
  }
  for (const t of regrouped) add(t.root, t.cost, 1);
  // 3. At or above the threshold: cost ≥ ⌈multiple × total ÷ n⌉ picocents (costs are whole picocents).
  const threshold = new Map<string, bigint>();
  for (const [root, s] of stats) {
    if (s.n > 0 && s.total > 0n) threshold.set(root, ceilDiv(BigInt(multiple) * s.total, BigInt(s.n)));
  }
  if (threshold.size === 0) return [];
  let lowest: bigint | null = null;
  for (const t of threshold.values()) if (lowest === null || t < lowest) lowest = t;
  const found: Array<{ traceId: string; root: string; cost: bigint }> = regrouped.filter(
    (t) => t.cost >= (threshold.get(t.root) ?? t.cost + 1n),
  );
  const names = [...threshold.keys()];
  for (const t of await rows(
    conn,
    `SELECT i.trace_id, i.root_name, i.cost FROM trace_index i
       JOIN (SELECT unnest(?::VARCHAR[]) AS root_name, unnest(?::VARCHAR[])::DECIMAL(38,12) AS threshold) t USING (root_name)
       WHERE ${inWindow} AND ${WHOLE} AND cost >= ?::DECIMAL(38,12) AND i.cost >= t.threshold`,
    [
      listValue(names),
      listValue(names.map((r) => decimalText(threshold.get(r) as bigint))),
      decimalText(lowest as bigint),
    ],
    (r) => ({
      traceId: String(col(r, 'trace_id')),
      root: String(col(r, 'root_name')),
      cost: picocentsOf(col(r, 'cost')),
    }),
  )) {
    if (!takenOut.has(t.traceId)) found.push(t);
  }
  return worstFirst(
    found.map((t) => {
      const st = stats.get(t.root) as RootStats;
      return { traceId: t.traceId, rootName: t.root, cost: t.cost, total: st.total, n: st.n };
    }),
    limit,
  );
}

/** Worst first (cost × n ÷ total, compared exactly), then by trace id; the first `limit`. */
function worstFirst(
  found: Array<{ traceId: string; rootName: string; cost: bigint; total: bigint; n: number }>,
  limit: number,
): AnomalousTrace[] {
  found.sort((a, b) => {
    const left = a.cost * BigInt(a.n) * b.total;
    const right = b.cost * BigInt(b.n) * a.total;
    if (left !== right) return left > right ? -1 : 1;
    return a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0;
  });
  return found.slice(0, limit).map((t) => ({
    traceId: t.traceId,
    rootName: t.rootName,
    cost: t.cost,
    meanCost: t.total / BigInt(t.n),
    tracesWithName: t.n,
  }));
}

/** The same answer from the summary parts alone (every day of the window summed per trace in SQL). */
async function fromParts(
  conn: DuckDBConnection,
  fromDay: number,
  toDay: number,
  multiple: number,
  limit: number,
): Promise<AnomalousTrace[]> {
  const anomalous = await rows(
    conn,
    `WITH t AS (
         SELECT trace_id, sum(cost) AS cost FROM trace_days WHERE day >= ${dayDate(fromDay)} AND day < ${dayDate(toDay)}
         GROUP BY trace_id HAVING sum(span_count) > 0 AND sum(cost) IS NOT NULL),
       r AS (
         SELECT trace_id, arg_min(root_name, (root_start_ns, root_name)) AS root_name FROM trace_roots
         WHERE trace_id IN (SELECT trace_id FROM t) GROUP BY trace_id),
       j AS (SELECT t.trace_id, coalesce(r.root_name, '${NO_ROOT}') AS root_name, t.cost
             FROM t LEFT JOIN r USING (trace_id)),
       m AS (SELECT root_name, sum(cost) AS total, count(*) AS n FROM j GROUP BY root_name)
       SELECT j.trace_id, j.root_name, j.cost, m.total, m.n
       FROM j JOIN m USING (root_name)
       WHERE m.total > 0 AND j.cost * m.n >= ?::INTEGER * m.total
       ORDER BY j.cost * m.n / m.total DESC, j.trace_id LIMIT ?`,
    [multiple, limit],
    (r) => ({
      traceId: String(col(r, 'trace_id')),
      rootName: String(col(r, 'root_name')),
      cost: picocentsOf(col(r, 'cost')),
      total: picocentsOf(col(r, 'total')),
      n: num(r, 'n'),
    }),
  );
  return worstFirst(anomalous, limit);
}

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return q * b < a ? q + 1n : q;
}
