/**
 * Keeps `rollup_15m` in step with `records` (a projection, writer/projection.ts): every write adds its rows'
 * revenue, costs and count to the (customer, 15-minute slot) they fall in, inside the same transaction; an
 * attribution move takes them from the old customer to the new. Changes from memory are summed in JS (exact bigints),
 * changes given as SQL are staged in `stage_rollup`, and both are upserted once per write (`finish`), where what
 * depends on the rollup's change — budget crossings, the insight index's months — is told (`RollupListener`).
 */
import { type DuckDBConnection, timestampValue } from '@duckdb/node-api';
import { SLOT_MICROS } from '../core/time.ts';
import { appendMoneyOrNull, appendRows } from '../db/appender.ts';
import { run, type SqlParams } from '../db/sql.ts';
import { ValueRangeError } from '../db/store-errors.ts';
import type {
  EventRow,
  Projection,
  RecordMove,
  RecordSet,
  Repriced,
  SpanBatch,
  WriteTx,
} from '../writer/projection.ts';

/** customer_key of unattributed records in the rollup. */
export const UNATTRIBUTED_KEY = 0;

/** A cost change of one customer in one 15-minute slot (what the rollup upsert adds). */
export interface CostDelta {
  readonly customerKey: number;
  readonly slotMicros: bigint;
  readonly costsPicocents: bigint;
}

/**
 * What depends on the rollup's change, told inside the write's transaction after the upsert. `deltas`: the change's
 * (customer, slot) costs when the write had them all in memory; else undefined, and they are in `stage_rollup`.
 */
export interface RollupListener {
  rollupChanged(tx: WriteTx, deltas: readonly CostDelta[] | undefined): Promise<void>;
}

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

  get size(): number {
    return this.deltas.size;
  }

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

  /** Appends the deltas to `stage_rollup`; returns them (CostDeltas as they are: listeners read them without a copy). */
  async stage(conn: DuckDBConnection): Promise<Delta[]> {
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
    return [...this.deltas.values()];
  }
}

/** What a write changed in the rollup so far: deltas from memory, and whether SQL staged rows too. */
interface Pending {
  readonly deltas: RollupDeltas;
  staged: boolean;
}

const PENDING = Symbol('rollup change of this write');

/**
 * Revenue, cost and records of a `records`-shaped relation `r` per (customer, slot), with `sign` ('' or '-');
 * allocations count no record (they are a cost, not activity).
 */
const sums = (sign: '' | '-') => `coalesce(r.customer_key, ${UNATTRIBUTED_KEY}), time_bucket(INTERVAL 15 MINUTE, r.ts),
  ${sign}coalesce(sum(r.revenue_amount), 0), ${sign}coalesce(sum(r.cost_amount), 0),
  ${sign}count(*) FILTER (WHERE r.source <> 'allocation')`;

export class RollupProjection implements Projection {
  readonly name = 'rollup';

  constructor(private readonly listeners: readonly RollupListener[]) {}

  private pending(tx: WriteTx): Pending {
    let p = tx.local.get(PENDING) as Pending | undefined;
    if (!p) {
      p = { deltas: new RollupDeltas(), staged: false };
      tx.local.set(PENDING, p);
    }
    return p;
  }

  async spansAdded(tx: WriteTx, { spans, customerIds, keys }: SpanBatch): Promise<void> {
    const { deltas } = this.pending(tx);
    for (let i = 0; i < spans.length; i++) {
      const r = (spans[i] as SpanBatch['spans'][number]).record;
      const customerId = customerIds[i] ?? null;
      const key = customerId === null ? undefined : keys.get(customerId);
      deltas.add(key, r.startTimeUnixNano / 1000n, r.revenuePicocents, r.costPicocents);
    }
  }

  async eventsAdded(tx: WriteTx, events: readonly EventRow[]): Promise<void> {
    const { deltas } = this.pending(tx);
    for (const e of events) deltas.add(e.customerKey, e.tsMicros, e.revenuePicocents, e.costPicocents);
  }

  async recordsMoved(tx: WriteTx, moves: readonly RecordMove[]): Promise<void> {
    const { deltas } = this.pending(tx);
    for (const m of moves) {
      deltas.add(m.fromKey, m.tsMicros, m.revenuePicocents, m.costPicocents, -1n);
      deltas.add(m.toKey, m.tsMicros, m.revenuePicocents, m.costPicocents);
    }
  }

  async recordsAdded(tx: WriteTx, added: RecordSet): Promise<void> {
    await this.stageSql(
      tx,
      `INSERT INTO stage_rollup SELECT ${sums('')} FROM ${added.relation} r GROUP BY ALL`,
      added.params,
    );
  }

  async recordsRemoved(tx: WriteTx, removed: RecordSet): Promise<void> {
    await this.stageSql(
      tx,
      `INSERT INTO stage_rollup SELECT ${sums('-')} FROM ${removed.relation} r GROUP BY ALL`,
      removed.params,
    );
  }

  async recordsRepriced(tx: WriteTx, r: Repriced): Promise<void> {
    await this.stageSql(
      tx,
      `INSERT INTO stage_rollup
      SELECT coalesce(r.customer_key, ${UNATTRIBUTED_KEY}), time_bucket(INTERVAL 15 MINUTE, r.ts), 0,
        sum(coalesce(s.cost, 0) - coalesce(r.cost_amount, 0)), 0
      FROM ${r.changed} WHERE ${r.inWindow} GROUP BY ALL`,
      r.window,
    );
  }

  private async stageSql(tx: WriteTx, sql: string, params: SqlParams): Promise<void> {
    await run(tx.conn, sql, params);
    this.pending(tx).staged = true;
  }

  /** Folds `stage_rollup` into `rollup_15m`, tells the listeners, empties it. */
  async finish(tx: WriteTx): Promise<void> {
    const p = tx.local.get(PENDING) as Pending | undefined;
    if (!p) return;
    tx.local.delete(PENDING);
    if (!p.staged && p.deltas.size === 0) return;
    const inMemory = p.deltas.size > 0 ? await p.deltas.stage(tx.conn) : [];
    await tx.conn.run(`INSERT INTO rollup_15m
        SELECT customer_key, slot, sum(revenue), sum(costs), sum(records) FROM stage_rollup GROUP BY ALL
      ON CONFLICT (customer_key, slot) DO UPDATE SET revenue = rollup_15m.revenue + excluded.revenue,
        costs = rollup_15m.costs + excluded.costs, records = rollup_15m.records + excluded.records`);
    for (const l of this.listeners) await l.rollupChanged(tx, p.staged ? undefined : inMemory);
    await tx.conn.run('DELETE FROM stage_rollup');
  }
}

/** Rebuilds the whole rollup from records (for data loaded around the ingest path, e.g. benchmarks). */
export async function rebuildRollup(conn: DuckDBConnection): Promise<void> {
  await conn.run('DELETE FROM rollup_15m');
  await conn.run(`INSERT INTO rollup_15m SELECT ${sums('')} FROM records r GROUP BY ALL`);
}
