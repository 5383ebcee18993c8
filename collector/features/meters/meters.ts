/**
 * Meters in the store (docs/contract.md §11): definitions in `meters`, and what they measured per customer per
 * 15-minute slot — `meter_slots` (count, exact sum, max), the same for all customers together in `meter_totals`
 * (what questions without a customer read: ~35k rows per meter-year however many customers) and `meter_values`
 * (the distinct values a `unique` meter saw) — kept in the same transaction as every write, so a year of
 * quantities reads slots, never records.
 *
 * A record is measured once, when it is settled (the rule of the trace summaries): events and spans whose customer
 * is known on arrival, pending spans when attribution resolves them (with their final customer) or retention
 * settles them. Spans still pending are read live from `records` (meter-reads.ts). A new meter measures the settled
 * records already stored in chunks (meter-backfill.ts; each once, see guardedParts), so spans retention removes
 * before it reaches them are not in it; events are never removed.
 *
 * The writer keeps the definitions in memory (`MeterProjection`, registered with the writer in wiring): writes with
 * no meter defined do no meter work.
 *
 * A definition can never stop writes (docs/contract.md §12 v3): it is evaluated once by the engine before it is stored
 * (probeMeter), every stored one again when the writer loads them, and a fold the engine refuses is reported as a
 * MeterFoldError, which the projection mends (`mend`: it disables the meters that fail the probe) before the writer
 * writes again without them (writer/ingest-queue.ts). A disabled meter keeps what it measured, says why in its GET, and measures nothing more.
 */
import { type DuckDBConnection, timestampValue } from '@duckdb/node-api';
import { appendRows, appendVarcharOrNull } from '../../db/appender.ts';
import { big, col, rows, type SqlParam, type SqlParams, textOrNull } from '../../db/sql.ts';
import {
  type EventRow,
  type Projection,
  ProjectionFault,
  type RecordSet,
  type SpanBatch,
  type WriteTx,
} from '../../writer/projection.ts';
import type { Meter, MeterFunc } from './definition.ts';
import { meterParts } from './meter-sql.ts';

/**
 * Meters as a projection, and the definitions the writer measures with (loaded at start-up, changed by create and
 * delete after COMMIT, by the backfill as its cursor moves, and by `mend`).
 */
export class MeterProjection implements Projection {
  readonly name = 'meters';
  private active: readonly Meter[] = [];

  /** `disabled`: told which meters a write could not evaluate, once they are disabled (log, metrics). */
  constructor(private readonly disabled: (ids: readonly string[], engineError: unknown) => void = () => {}) {}

  /** The meters the writer measures with. */
  get meters(): readonly Meter[] {
    return this.active;
  }

  /** Replaces the definitions (after COMMIT of a create or delete, or a backfill's progress). */
  set(meters: readonly Meter[]): void {
    this.active = meters;
  }

  /**
   * Loads the definitions, first disabling any the engine cannot evaluate (stored by an earlier version that accepted
   * them); returns the ids disabled.
   */
  async load(conn: DuckDBConnection, nowMicros: bigint): Promise<string[]> {
    return this.disableBroken(conn, await listMeters(conn), nowMicros);
  }

  /**
   * Disables (in the table and in memory) the meters among `meters` the engine cannot evaluate; returns their ids.
   * Run on the writer, outside any other transaction.
   */
  async disableBroken(conn: DuckDBConnection, meters: readonly Meter[], nowMicros: bigint): Promise<string[]> {
    const broken = await disableBrokenMeters(conn, meters, nowMicros);
    this.active = meters.filter((m) => m.disabledReason === null && !broken.includes(m.id));
    return broken;
  }

  async spansAdded(tx: WriteTx, { spans, customerIds, keys }: SpanBatch): Promise<void> {
    if (this.active.length === 0) return;
    const inputs: MeterInput[] = [];
    spans.forEach(({ record: r, attribution }, i) => {
      if (attribution.pending) return; // measured when it settles
      const customerId = customerIds[i] ?? null;
      inputs.push({
        source: 'span',
        name: r.name,
        attributesJson: r.attributesJson,
        customerKey: customerId === null ? undefined : keys.get(customerId),
        tsMicros: r.startTimeUnixNano / 1000n,
      });
    });
    await foldMeterInputs(tx.conn, inputs, this.active);
  }

  async eventsAdded(tx: WriteTx, events: readonly EventRow[]): Promise<void> {
    if (this.active.length === 0) return;
    const inputs = events.map(
      (e): MeterInput => ({
        source: 'event',
        name: e.name,
        attributesJson: e.attributesJson,
        customerKey: e.customerKey,
        tsMicros: e.tsMicros,
      }),
    );
    await foldMeterInputs(tx.conn, inputs, this.active);
  }

  async recordsAdded(tx: WriteTx, added: RecordSet): Promise<void> {
    await foldMeters(
      tx.conn,
      `(SELECT * FROM ${added.relation} r WHERE NOT r.attribution_pending)`,
      added.params,
      this.active,
    );
  }

  async recordsSettled(tx: WriteTx, settled: RecordSet): Promise<void> {
    await foldMeters(tx.conn, settled.relation, settled.params, this.active);
  }

  /** A fold the engine refused: the meters that fail the probe are disabled, and the write runs again without them. */
  async mend(conn: DuckDBConnection, err: unknown, nowMicros: bigint): Promise<boolean> {
    if (!(err instanceof MeterFoldError)) return false;
    const disabled = await this.disableBroken(conn, this.active, nowMicros);
    if (disabled.length === 0) return false;
    this.disabled(disabled, err.engineError);
    return true;
  }
}

export async function listMeters(conn: DuckDBConnection): Promise<Meter[]> {
  return rows(
    conn,
    `SELECT id, name, filter_json, func, property, epoch_us(created_at) AS created_us, backfill_cursor_us,
       disabled_reason
     FROM meters ORDER BY created_at, id`,
    [],
    (r): Meter => {
      const f = JSON.parse(String(col(r, 'filter_json'))) as Meter['filter'];
      return {
        id: String(col(r, 'id')),
        name: String(col(r, 'name')),
        filter: { eventName: f.eventName, spanName: f.spanName, attributes: f.attributes },
        func: String(col(r, 'func')) as MeterFunc,
        property: textOrNull(r, 'property'),
        createdAtMicros: big(r, 'created_us'),
        backfillCursorMicros: col(r, 'backfill_cursor_us') === null ? null : big(r, 'backfill_cursor_us'),
        disabledReason: textOrNull(r, 'disabled_reason'),
      };
    },
  );
}

/** One row the shape of `records` as meters read it: enough for the engine to plan and run a meter's SQL. */
const PROBE_ROW = `(SELECT 'span' AS source, 'probe' AS name, '{"a":{"b":"1"},"a.b":"1"}' AS attributes,
  0 AS customer_key, TIMESTAMP '2000-01-01' AS ts)`;

/** Null when the engine evaluates the meter's SQL, else why not (for the log; clients get a plain message). */
export async function probeMeter(conn: DuckDBConnection, m: Meter): Promise<string | null> {
  const parts = meterParts({ ...m, backfillCursorMicros: null }, PROBE_ROW);
  try {
    await conn.runAndReadAll(`SELECT count(*) FROM (${parts.sql})`, parts.params);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export const METER_DISABLED_REASON = 'the store could not evaluate this meter on a write; it measures nothing more';

/** Disables (in the table) the active meters among `meters` the engine cannot evaluate; returns their ids. */
async function disableBrokenMeters(
  conn: DuckDBConnection,
  meters: readonly Meter[],
  nowMicros: bigint,
): Promise<string[]> {
  const broken: string[] = [];
  for (const m of meters) {
    if (m.disabledReason === null && (await probeMeter(conn, m)) !== null) broken.push(m.id);
  }
  for (const id of broken) {
    await conn.run('UPDATE meters SET disabled_reason = ?, disabled_at = make_timestamp(?::BIGINT) WHERE id = ?', [
      METER_DISABLED_REASON,
      nowMicros,
      id,
    ]);
  }
  return broken;
}

/** A meter fold the engine refused: `MeterProjection.mend` disables what fails the probe, and the writer writes again. */
export class MeterFoldError extends ProjectionFault {
  constructor(engineError: unknown) {
    super('meters', engineError);
  }
}

/**
 * Defines a meter; call inside a transaction. It measures new records at once, and the records already stored
 * in chunks afterwards (meter-backfill.ts) — defining a meter never holds the writer for the whole store.
 */
export async function createMeter(conn: DuckDBConnection, m: Meter): Promise<void> {
  await conn.run(
    `INSERT INTO meters (id, name, filter_json, func, property, created_at, backfill_cursor_us)
     VALUES (?, ?, ?, ?, ?, make_timestamp(?::BIGINT), ?)`,
    [m.id, m.name, JSON.stringify(m.filter), m.func, m.property, m.createdAtMicros, m.backfillCursorMicros],
  );
}

/** Removes a meter and what it measured; false when there is no such meter. Call inside a transaction. */
export async function deleteMeter(conn: DuckDBConnection, id: string): Promise<boolean> {
  const r = await conn.run('DELETE FROM meters WHERE id = ?', [id]);
  if (r.rowsChanged === 0) return false;
  await conn.run('DELETE FROM meter_slots WHERE meter_id = ?', [id]);
  await conn.run('DELETE FROM meter_totals WHERE meter_id = ?', [id]);
  await conn.run('DELETE FROM meter_values WHERE meter_id = ?', [id]);
  return true;
}

/**
 * Measures the settled records of `relation` (a `records`-shaped table or subquery, customer_key final) with
 * `meters`. Call inside the writer's transaction.
 */
export async function foldMeters(
  conn: DuckDBConnection,
  relation: string,
  params: SqlParams,
  meters: readonly Meter[],
): Promise<void> {
  if (meters.length === 0) return;
  try {
    await foldWith(conn, relation, params, meters);
  } catch (err) {
    throw new MeterFoldError(err);
  }
}

async function foldWith(
  conn: DuckDBConnection,
  relation: string,
  params: SqlParams,
  meters: readonly Meter[],
): Promise<void> {
  const withRelation = `WITH rel AS MATERIALIZED (SELECT source, name, attributes, customer_key, ts FROM ${relation})`;
  const numeric = meters.filter((m) => m.func !== 'unique');
  if (numeric.length > 0) {
    const parts = numeric.map(guardedParts);
    await conn.run(
      `INSERT INTO stage_meter_parts ${withRelation}
       SELECT meter_id, customer_key, slot, count(*), coalesce(sum(v), 0), max(v)
       FROM (${parts.map((p) => p.sql).join(' UNION ALL ')}) GROUP BY ALL`,
      [...params, ...parts.flatMap((p) => p.params)],
    );
    await conn.run(
      `INSERT INTO meter_slots SELECT * FROM stage_meter_parts
       ON CONFLICT (meter_id, customer_key, slot) DO UPDATE SET events = meter_slots.events + excluded.events,
         total = meter_slots.total + excluded.total, maximum = greatest(meter_slots.maximum, excluded.maximum)`,
    );
    await conn.run(
      `INSERT INTO meter_totals
       SELECT meter_id, slot, sum(events), sum(total), max(maximum) FROM stage_meter_parts GROUP BY meter_id, slot
       ON CONFLICT (meter_id, slot) DO UPDATE SET events = meter_totals.events + excluded.events,
         total = meter_totals.total + excluded.total, maximum = greatest(meter_totals.maximum, excluded.maximum)`,
    );
    await conn.run('DELETE FROM stage_meter_parts');
  }
  const unique = meters.filter((m) => m.func === 'unique');
  if (unique.length > 0) {
    const parts = unique.map(guardedParts);
    await conn.run(
      `INSERT INTO meter_values ${withRelation}
       SELECT DISTINCT meter_id, customer_key, slot, v
       FROM (${parts.map((p) => p.sql).join(' UNION ALL ')}) WHERE v IS NOT NULL
       ON CONFLICT DO NOTHING`,
      [...params, ...parts.flatMap((p) => p.params)],
    );
  }
}

/**
 * A meter's parts of `rel`. While it is still measuring the stored records (backfill), a record at or after its
 * cursor is left to the backfill, which will find it stored and settled; one before it is measured here (the
 * backfill passed that time already, when this record was not there or not settled): each record once.
 */
function guardedParts(m: Meter): { sql: string; params: SqlParam[] } {
  const parts = meterParts(m, 'rel');
  if (m.backfillCursorMicros === null) return parts;
  return {
    sql: `SELECT * FROM (${parts.sql}) WHERE slot < make_timestamp(?::BIGINT)`,
    params: [...parts.params, m.backfillCursorMicros],
  };
}

/** A settled record written from memory (the span and event fast paths), as meters see it. */
interface MeterInput {
  readonly source: 'span' | 'event';
  readonly name: string;
  readonly attributesJson: string;
  readonly customerKey: number | undefined;
  readonly tsMicros: bigint;
}

/** Measures records written from memory: staged in `stage_meter_input` (only when a meter is defined), folded, cleared. */
async function foldMeterInputs(
  conn: DuckDBConnection,
  rows: readonly MeterInput[],
  meters: readonly Meter[],
): Promise<void> {
  if (meters.length === 0 || rows.length === 0) return;
  await appendRows(conn, 'stage_meter_input', (app) => {
    for (const r of rows) {
      app.appendVarchar(r.source);
      app.appendVarchar(r.name);
      appendVarcharOrNull(app, r.attributesJson);
      if (r.customerKey === undefined) app.appendNull();
      else app.appendInteger(r.customerKey);
      app.appendTimestamp(timestampValue(r.tsMicros));
      app.endRow();
    }
  });
  await foldMeters(conn, 'stage_meter_input', [], meters);
  await conn.run('DELETE FROM stage_meter_input');
}
