/**
 * Budget crossings (CONTRACT.md §11), detected where every change of cost lands: the rollup upsert
 * (rollup.ts `upsertStagedRollup`, inside the writer's transaction — spans, events, attribution moves, allocations,
 * re-pricing). For each customer and UTC window the staged change adds cost to, the window's spend is read from
 * the rollup (this transaction's change included) and every threshold it has reached is inserted into
 * `budget_alerts` — keyed by (customer, window start, threshold), so a crossing is recorded once however many
 * concurrent requests reach it, and never skipped: the one writer sees every commit in order. The row is the
 * alert's durable outbox (alerts/sender.ts delivers it).
 */
import type { DuckDBConnection } from '@duckdb/node-api';

/** Whether any budget exists, per writer connection: without one the check costs nothing. */
const active = new WeakMap<DuckDBConnection, boolean>();

export function setBudgetsActive(conn: DuckDBConnection, on: boolean): void {
  active.set(conn, on);
}

export function budgetsActive(conn: DuckDBConnection): boolean {
  return active.get(conn) ?? false;
}

export async function loadBudgetsActive(conn: DuckDBConnection): Promise<void> {
  const n = (await conn.runAndReadAll('SELECT count(*) FROM budgets')).getRows()[0]?.[0];
  setBudgetsActive(conn, Number(n) > 0);
}

/** The UTC window containing `slot` for a budget window kind, as SQL over the column `w`. */
export const WINDOW_START = `date_trunc(w, slot)`;
export const WINDOW_END = `date_trunc(w, slot) + CASE w WHEN 'day' THEN INTERVAL 1 DAY WHEN 'week' THEN INTERVAL 7 DAY
  ELSE INTERVAL 1 MONTH END`;

/** Records the thresholds reached by the customers `stage_rollup` adds cost to (before it is emptied). */
export async function recordCrossings(conn: DuckDBConnection, nowMicros: bigint): Promise<void> {
  if (!budgetsActive(conn)) return;
  await conn.run(
    `INSERT INTO budget_alerts (customer_id, window_start, threshold, window_end, amount, spent, webhook_url,
       crossed_at, next_attempt_at)
     SELECT customer_id, ws, t, we, amount, spent, url, make_timestamp(?::BIGINT), make_timestamp(?::BIGINT)
     FROM (
       WITH touched AS (
         SELECT DISTINCT customer_key, slot FROM stage_rollup WHERE costs > 0 AND customer_key <> 0),
       tc AS (
         SELECT t.customer_key, t.slot, c.external_id AS customer_id
         FROM touched t JOIN (SELECT customer_key, external_id FROM customers
                              WHERE customer_key IN (SELECT customer_key FROM touched)) c USING (customer_key)),
       own AS (SELECT * FROM budgets WHERE customer_id IN (SELECT customer_id FROM tc)),
       def AS (SELECT * FROM budgets WHERE customer_id = '*'),
       b AS (
         SELECT tc.customer_id, tc.customer_key, tc.slot,
           coalesce(own.amount, def.amount) AS amount, coalesce(own.budget_window, def.budget_window) AS w,
           coalesce(own.thresholds, def.thresholds) AS thresholds, coalesce(own.webhook_url, def.webhook_url) AS url
         FROM tc LEFT JOIN own USING (customer_id) LEFT JOIN def ON true
         WHERE own.customer_id IS NOT NULL OR def.customer_id IS NOT NULL),
       w AS (
         SELECT DISTINCT customer_id, customer_key, amount, thresholds, url, ${WINDOW_START} AS ws, ${WINDOW_END} AS we
         FROM b),
       spent AS (
         SELECT w.customer_id, w.amount, w.thresholds, w.url, w.ws, w.we, sum(r.costs) AS spent
         FROM w JOIN rollup_15m r ON r.customer_key = w.customer_key AND r.slot >= w.ws AND r.slot < w.we
         -- the windows' span bounds the scan (zone maps on slot: a year of rollup is not read per batch)
         WHERE r.slot >= (SELECT min(ws) FROM w) AND r.slot < (SELECT max(we) FROM w)
           AND r.customer_key IN (SELECT customer_key FROM w)
         GROUP BY ALL)
       SELECT customer_id, amount, url, ws, we, spent, unnest(thresholds) AS t FROM spent)
     WHERE spent >= amount * t
     ON CONFLICT DO NOTHING`,
    [nowMicros, nowMicros] as never,
  );
}
