/**
 * Keeps `rollup_15m` in step with `records`: every write adds its rows' revenue, costs and count to the
 * (customer, 15-minute slot) they fall in, inside the same transaction; an attribution change moves them
 * from the old customer to the new. Deltas are summed in JS (exact bigints) and upserted once per batch.
 */
import { type DuckDBConnection, timestampValue } from '@duckdb/node-api';
import { appendMoneyOrNull, appendRows } from '../db/appender.ts';
import { ValueRangeError } from '../db/store-errors.ts';
import { type CostDelta, recordCrossings } from '../features/budgets/budget-checks.ts';
import { foldLateRollup } from '../features/insights/insight-index.ts';

export const SLOT_MICROS = 900_000_000n;
/** customer_key of unattributed records in the rollup. */
export const UNATTRIBUTED_KEY = 0;

interface Delta {
  customerKey: number;
  slotMicros: bigint;
  revenue: bigint;
  costsPicocents: bigint;
  records: bigint;
}

const DECIMAL_38_MAX = 10n ** 38n - 1n;

function outOfDecimal(v: bigint): boolean {
  return v > DECIMAL_38_MAX || v < -DECIMAL_38_MAX;
}

export class RollupDeltas {
  private readonly deltas = new Map<string, Delta>();

  add(customerKey: number | undefined, tsMicros: bigint, revenue: bigint | null, costs: bigint | null, sign = 1n) {
    const key = customerKey ?? UNATTRIBUTED_KEY;
    const slotMicros = tsMicros - (((tsMicros % SLOT_MICROS) + SLOT_MICROS) % SLOT_MICROS);
    const k = `${key}:${slotMicros}`;
    let d = this.deltas.get(k);
    if (!d) {
      d = { customerKey: key, slotMicros, revenue: 0n, costsPicocents: 0n, records: 0n };
      this.deltas.set(k, d);
    }
    d.revenue += sign * (revenue ?? 0n);
    d.costsPicocents += sign * (costs ?? 0n);
    d.records += sign;
  }

  /** Upserts the deltas; call inside the writer's open transaction. */
  /** `nowMicros`: the writer's clock, when a threshold crossing is recorded. */
  async apply(conn: DuckDBConnection, nowMicros: bigint): Promise<void> {
    if (this.deltas.size === 0) return;
    // Checked, never wrapped: a delta past DECIMAL(38,12) fails the write (DuckDB checks the upsert's sums).
    for (const d of this.deltas.values()) {
      if (outOfDecimal(d.revenue) || outOfDecimal(d.costsPicocents)) {
        throw new ValueRangeError('a rollup sum exceeds DECIMAL(38,12)');
      }
    }
    await appendRows(conn, 'stage_rollup', (app) => {
      for (const d of this.deltas.values()) {
        app.appendInteger(d.customerKey);
        app.appendTimestamp(timestampValue(d.slotMicros));
        appendMoneyOrNull(app, d.revenue);
        appendMoneyOrNull(app, d.costsPicocents);
        app.appendBigInt(d.records);
        app.endRow();
      }
    });
    // The deltas are CostDeltas as they are: the budget check and the month index read them without a copy.
    await upsertStagedRollup(conn, nowMicros, [...this.deltas.values()]);
  }
}

/**
 * Folds `stage_rollup` into `rollup_15m`, records the budget thresholds it makes customers cross, empties it.
 * `deltas`: the staged costs when the caller has them in memory (else the budget check reads them).
 */
export async function upsertStagedRollup(
  conn: DuckDBConnection,
  nowMicros: bigint,
  deltas?: readonly CostDelta[],
): Promise<void> {
  await conn.run(`INSERT INTO rollup_15m
      SELECT customer_key, slot, sum(revenue), sum(costs), sum(records) FROM stage_rollup GROUP BY ALL
    ON CONFLICT (customer_key, slot) DO UPDATE SET revenue = rollup_15m.revenue + excluded.revenue,
      costs = rollup_15m.costs + excluded.costs, records = rollup_15m.records + excluded.records`);
  await foldLateRollup(conn, deltas);
  await recordCrossings(conn, nowMicros, deltas);
  await conn.run('DELETE FROM stage_rollup');
}

/** Stages the rollup of a set of records given as SQL (used when JS does not know which rows were new). */
export async function stageRollupFrom(conn: DuckDBConnection, selectRecordsSql: string): Promise<void> {
  await conn.run(`INSERT INTO stage_rollup
    SELECT coalesce(customer_key, ${UNATTRIBUTED_KEY}), time_bucket(INTERVAL 15 MINUTE, ts),
      coalesce(sum(revenue_amount), 0), coalesce(sum(cost_amount), 0), count(*)
    FROM (${selectRecordsSql}) GROUP BY ALL`);
}

/** Rebuilds the whole rollup from records (for data loaded around the ingest path, e.g. benchmarks). */
export async function rebuildRollup(conn: DuckDBConnection): Promise<void> {
  await conn.run('DELETE FROM rollup_15m');
  await conn.run(`INSERT INTO rollup_15m
    SELECT coalesce(customer_key, ${UNATTRIBUTED_KEY}), time_bucket(INTERVAL 15 MINUTE, ts),
      coalesce(sum(revenue_amount), 0), coalesce(sum(cost_amount), 0), count(*) FILTER (WHERE source <> 'allocation')
    FROM records GROUP BY ALL`);
}
