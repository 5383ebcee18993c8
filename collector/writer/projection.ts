/**
 * The Projection interface: every derived table (the rollup, trace summaries, meters, the Polar outbox — and, through
 * the rollup, budget crossings and the insight index) is kept in step with `records` by a projection that the writer
 * runs for every write path, inside the write's transaction. A write path says what changed in `records` (new spans
 * or events from memory, new records as SQL, settled, moved, re-priced, removed) and never names a derived table;
 * wiring (collector.ts) registers the projections, so a new derived table is one projection, not an edit of every
 * write path. Projections keep their own memory (meters defined, indexed periods, the outbox sequence, budget
 * windows) and change it only after COMMIT (`tx.afterCommit`).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { AttributedSpan } from '../../src/records.ts';
import type { SqlParams } from '../db/sql.ts';
import type { OpenTransaction } from '../db/transaction.ts';

/** The write transaction a projection runs in, and the writer's clock for this write (µs). */
export interface WriteTx extends OpenTransaction {
  readonly conn: DuckDBConnection;
  readonly nowMicros: bigint;
}

/** New spans written from memory (the hot path); pending ones among them are settled later. */
export interface SpanBatch {
  readonly spans: readonly AttributedSpan[];
  /** Each span's effective customer (null: unattributed). */
  readonly customerIds: ReadonlyArray<string | null>;
  readonly keys: ReadonlyMap<string, number>;
}

/** A new event written from memory (always settled: its customer is named). */
export interface EventRow {
  readonly id: string;
  readonly customerId: string;
  readonly customerKey: number | undefined;
  readonly name: string;
  readonly tsMicros: bigint;
  readonly costPicocents: bigint | null;
  readonly revenuePicocents: bigint | null;
  readonly llmVendor: string | null;
  readonly llmModel: string | null;
  readonly attributesJson: string;
}

/** Records given as SQL: a `records`-shaped relation (a table or a parenthesized subquery) and its parameters. */
export interface RecordSet {
  readonly relation: string;
  readonly params: SqlParams;
}

/** A stored record that moves from its provisional customer to its final one (attribution resolved later). */
export interface RecordMove {
  readonly fromKey: number | undefined;
  readonly toKey: number | undefined;
  readonly tsMicros: bigint;
  readonly revenuePicocents: bigint | null;
  readonly costPicocents: bigint | null;
}

/**
 * Stored records whose cost changes: `changed` joins `records r` (the old values) with the new ones `s` (cost,
 * cost_source); `inWindow` bounds `r.ts` to [fromMicros, toMicros) with two parameters (`window`).
 */
export interface Repriced {
  readonly changed: string;
  readonly inWindow: string;
  readonly window: SqlParams;
  readonly fromMicros: bigint;
  readonly toMicros: bigint;
}

/** One derived table's rules. Every hook is optional: a projection implements the changes it depends on. */
export interface Projection {
  readonly name: string;
  /** New spans from memory, pending ones among them. */
  spansAdded?(tx: WriteTx, batch: SpanBatch): Promise<void>;
  /** New events from memory. */
  eventsAdded?(tx: WriteTx, events: readonly EventRow[]): Promise<void>;
  /** New records given as SQL (a re-sent batch's new rows, a day's allocations), pending ones among them. */
  recordsAdded?(tx: WriteTx, added: RecordSet): Promise<void>;
  /** Stored records about to be replaced (a re-allocated day), while `records` still holds them. */
  recordsRemoved?(tx: WriteTx, removed: RecordSet): Promise<void>;
  /**
   * Stored pending records that settle now, with their final customer (their `attribution_pending` column still
   * says pending: the set is what they are once settled). Run before `records` is updated.
   */
  recordsSettled?(tx: WriteTx, settled: RecordSet): Promise<void>;
  /** Stored records moving between customers. */
  recordsMoved?(tx: WriteTx, moves: readonly RecordMove[]): Promise<void>;
  /** Stored records whose cost changes, while `records` still holds the old cost. */
  recordsRepriced?(tx: WriteTx, repriced: Repriced): Promise<void>;
  /** Once per write, after the write path's last change, before COMMIT. */
  finish?(tx: WriteTx): Promise<void>;
  /**
   * A write failed with `err`: the projection mends what made it fail (e.g. disables a definition the engine cannot
   * evaluate) and answers true when the write should run again; false when the fault is not its own.
   */
  mend?(conn: DuckDBConnection, err: unknown, nowMicros: bigint): Promise<boolean>;
}

/**
 * A projection's statement the engine refused. The writer asks the projections to mend it (`mend`) and writes again;
 * when none can, the engine's error is what the write failed with (classified as usual: db/store-errors.ts).
 */
export class ProjectionFault extends Error {
  constructor(
    readonly projection: string,
    readonly engineError: unknown,
  ) {
    super(
      `${projection}: the store refused a statement: ${engineError instanceof Error ? engineError.message : String(engineError)}`,
    );
  }
}

/** The projections wiring registered, run in registration order for every change of a write. */
export class Projections {
  constructor(readonly all: readonly Projection[]) {}

  async spansAdded(tx: WriteTx, batch: SpanBatch): Promise<void> {
    for (const p of this.all) await p.spansAdded?.(tx, batch);
  }

  async eventsAdded(tx: WriteTx, events: readonly EventRow[]): Promise<void> {
    for (const p of this.all) await p.eventsAdded?.(tx, events);
  }

  async recordsAdded(tx: WriteTx, added: RecordSet): Promise<void> {
    for (const p of this.all) await p.recordsAdded?.(tx, added);
  }

  async recordsRemoved(tx: WriteTx, removed: RecordSet): Promise<void> {
    for (const p of this.all) await p.recordsRemoved?.(tx, removed);
  }

  async recordsSettled(tx: WriteTx, settled: RecordSet): Promise<void> {
    for (const p of this.all) await p.recordsSettled?.(tx, settled);
  }

  async recordsMoved(tx: WriteTx, moves: readonly RecordMove[]): Promise<void> {
    if (moves.length === 0) return;
    for (const p of this.all) await p.recordsMoved?.(tx, moves);
  }

  async recordsRepriced(tx: WriteTx, repriced: Repriced): Promise<void> {
    for (const p of this.all) await p.recordsRepriced?.(tx, repriced);
  }

  async finish(tx: WriteTx): Promise<void> {
    for (const p of this.all) await p.finish?.(tx);
  }

  /** Asks each projection to mend a failed write; true when one did and the write should run again. */
  async mend(conn: DuckDBConnection, err: unknown, nowMicros: bigint): Promise<boolean> {
    for (const p of this.all) if (await p.mend?.(conn, err, nowMicros)) return true;
    return false;
  }
}

/** A transaction of the writer, as projections see it (`transaction` from db/transaction.ts gives the rest). */
export function writeTx(open: OpenTransaction, conn: DuckDBConnection, nowMicros: bigint): WriteTx {
  return { ...open, conn, nowMicros };
}
