/**
 * The durable outbox of cost events for Polar (docs/contract.md §9), written in the same transaction as the records it
 * copies: a record is queued once it is attributed (a customer, settled) and has a cost — spans as they are
 * written or when their attribution settles (later batch or retention), events as they are written, allocations
 * when a day is allocated. The row holds everything the event needs, so the sender never reads `records` (and a
 * span removed by retention before it was sent still goes out). Sent rows are deleted and counted
 * (`costtrace_meta.polar_sent`); rows Polar refuses for good are parked with its reason.
 */
import { type DuckDBConnection, timestampValue } from '@duckdb/node-api';
import { appendMoneyOrNull, appendRows, appendVarcharOrNull } from '../../db/appender.ts';
import { decimal } from '../../db/money-values.ts';
import { big, col, num, one, type Row, rows, type SqlParams, textOrNull } from '../../db/sql.ts';
import type { EventRow, Projection, RecordSet, SpanBatch, WriteTx } from '../../writer/projection.ts';

const COLUMNS = 'external_id, customer_id, name, ts, cost, llm_vendor, llm_model, attributes';

export interface OutboxRow {
  readonly externalId: string;
  readonly customerId: string;
  readonly name: string;
  readonly tsMicros: bigint;
  readonly costPicocents: bigint;
  readonly llmVendor: string | null;
  readonly llmModel: string | null;
  readonly attributesJson: string;
}

export interface QueuedEvent extends OutboxRow {
  readonly seq: bigint;
}

/**
 * The outbox as a projection (registered only when forwarding is on): attributed, settled, cost-bearing records are
 * queued as they are written or settle. It numbers rows (`seq`, in commit order: one writer); a rolled-back
 * transaction leaves a gap, which is harmless — only the order matters. The next number is read once from the table.
 */
export class OutboxProjection implements Projection {
  readonly name = 'polar outbox';
  private nextSeq: bigint | undefined;

  private async takeSeqs(conn: DuckDBConnection, n: number): Promise<bigint> {
    let next = this.nextSeq;
    if (next === undefined) {
      next = await one(conn, 'SELECT coalesce(max(seq), 0) + 1 AS next FROM polar_outbox', [], (r) => big(r, 'next'));
      if (next === undefined) throw new Error('polar_outbox: no next seq');
    }
    this.nextSeq = next + BigInt(n);
    return next;
  }

  /** New settled spans with a customer and a cost (pending ones go when they settle). */
  async spansAdded(tx: WriteTx, { spans, customerIds }: SpanBatch): Promise<void> {
    const rows: OutboxRow[] = [];
    spans.forEach(({ record: r, attribution }, i) => {
      const customerId = customerIds[i] ?? null;
      if (customerId === null || r.costPicocents === null || attribution.pending) return;
      rows.push({
        externalId: `${r.traceId}:${r.spanId}`,
        customerId,
        name: r.name,
        tsMicros: r.startTimeUnixNano / 1000n,
        costPicocents: r.costPicocents,
        llmVendor: r.llmVendor,
        llmModel: r.llmModel,
        attributesJson: r.attributesJson,
      });
    });
    await this.enqueueRows(tx.conn, rows);
  }

  async eventsAdded(tx: WriteTx, events: readonly EventRow[]): Promise<void> {
    const rows: OutboxRow[] = [];
    for (const e of events) {
      if (e.costPicocents === null) continue;
      rows.push({
        externalId: e.id,
        customerId: e.customerId,
        name: e.name,
        tsMicros: e.tsMicros,
        costPicocents: e.costPicocents,
        llmVendor: e.llmVendor,
        llmModel: e.llmModel,
        attributesJson: e.attributesJson,
      });
    }
    await this.enqueueRows(tx.conn, rows);
  }

  async recordsAdded(tx: WriteTx, added: RecordSet): Promise<void> {
    await this.enqueueFromRecords(tx.conn, `FROM ${added.relation} r WHERE NOT r.attribution_pending`, added.params);
  }

  async recordsSettled(tx: WriteTx, settled: RecordSet): Promise<void> {
    await this.enqueueFromRecords(tx.conn, `FROM ${settled.relation} r WHERE true`, settled.params);
  }

  /** Appends rows (inside the writer's transaction). */
  private async enqueueRows(conn: DuckDBConnection, rows: readonly OutboxRow[]): Promise<void> {
    if (rows.length === 0) return;
    let seq = await this.takeSeqs(conn, rows.length);
    await appendRows(conn, 'polar_outbox', (app) => {
      for (const r of rows) {
        app.appendBigInt(seq++);
        app.appendVarchar(r.externalId);
        app.appendVarchar(r.customerId);
        app.appendVarchar(r.name);
        app.appendTimestamp(timestampValue(r.tsMicros));
        appendMoneyOrNull(app, r.costPicocents);
        appendVarcharOrNull(app, r.llmVendor);
        appendVarcharOrNull(app, r.llmModel);
        app.appendVarchar(r.attributesJson);
        app.appendNull(); // parked_reason
        app.appendNull(); // parked_at
        app.endRow();
      }
    });
  }

  /**
   * Queues the records `fromWhere` selects (SQL after SELECT …, records aliased `r`) that are attributed and
   * cost-bearing — run before the statement that settles or removes them, when their final state is known.
   */
  private async enqueueFromRecords(conn: DuckDBConnection, fromWhere: string, params: SqlParams): Promise<void> {
    const first = await this.takeSeqs(conn, 0);
    const inserted = await conn.run(
      `INSERT INTO polar_outbox (seq, ${COLUMNS})
       SELECT ?::BIGINT - 1 + row_number() OVER (), CASE r.source WHEN 'span' THEN r.trace_id || ':' || r.span_id
           WHEN 'allocation' THEN 'fixed:' || r.span_id ELSE r.span_id END,
         r.customer_id, r.name, r.ts, r.cost_amount, r.llm_vendor, r.llm_model, r.attributes
       ${fromWhere} AND r.customer_id IS NOT NULL AND r.cost_amount IS NOT NULL`,
      [first, ...params],
    );
    this.nextSeq = first + BigInt(inserted.rowsChanged);
  }
}

/** The columns queuedOf reads: COLUMNS with cost as text and ts as µs. */
const QUEUED = `seq, ${COLUMNS.replace('ts,', 'epoch_us(ts) AS ts_us,').replace('cost,', 'cost::VARCHAR AS cost,')}`;

/** One outbox row as read by SELECT ${QUEUED}. */
function queuedOf(r: Row): QueuedEvent {
  return {
    seq: big(r, 'seq'),
    externalId: String(col(r, 'external_id')),
    customerId: String(col(r, 'customer_id')),
    name: String(col(r, 'name')),
    tsMicros: big(r, 'ts_us'),
    costPicocents: decimal(col(r, 'cost')),
    llmVendor: textOrNull(r, 'llm_vendor'),
    llmModel: textOrNull(r, 'llm_model'),
    attributesJson: String(col(r, 'attributes') ?? '{}'),
  };
}

/** The oldest events not yet sent nor parked, in order. */
export async function nextQueued(conn: DuckDBConnection, limit: number): Promise<QueuedEvent[]> {
  return rows(
    conn,
    `SELECT ${QUEUED} FROM polar_outbox WHERE parked_reason IS NULL ORDER BY seq LIMIT ?`,
    [limit],
    queuedOf,
  );
}

const inList = (seqs: readonly bigint[]) => seqs.map((s) => s.toString()).join(',');

/** Polar acknowledged these: removed from the outbox and counted as sent, in one transaction. */
export async function markSent(conn: DuckDBConnection, seqs: readonly bigint[]): Promise<void> {
  if (seqs.length === 0) return;
  await conn.run('BEGIN TRANSACTION');
  try {
    await conn.run(`DELETE FROM polar_outbox WHERE seq IN (${inList(seqs)})`);
    await conn.run(
      `INSERT INTO costtrace_meta VALUES ('polar_sent', ?)
      ON CONFLICT (key) DO UPDATE SET value = (CAST(costtrace_meta.value AS BIGINT) + CAST(excluded.value AS BIGINT))::VARCHAR`,
      [String(seqs.length)],
    );
    await conn.run('COMMIT');
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Polar refused this event for good: kept, with its reason, out of the way of the rest. */
export async function park(conn: DuckDBConnection, seq: bigint, reason: string, nowMicros: bigint): Promise<void> {
  await conn.run('UPDATE polar_outbox SET parked_reason = ?, parked_at = make_timestamp(?::BIGINT) WHERE seq = ?', [
    reason,
    nowMicros,
    seq,
  ]);
}

export interface ForwardingCounts {
  readonly pending: number;
  readonly parked: number;
  readonly sent: number;
}

export async function forwardingCounts(conn: DuckDBConnection): Promise<ForwardingCounts> {
  const counts = await one(
    conn,
    `SELECT count(*) FILTER (WHERE parked_reason IS NULL) AS pending,
       count(*) FILTER (WHERE parked_reason IS NOT NULL) AS parked,
       (SELECT coalesce(max(CAST(value AS BIGINT)), 0) FROM costtrace_meta WHERE key = 'polar_sent') AS sent
     FROM polar_outbox`,
    [],
    (r) => ({ pending: num(r, 'pending'), parked: num(r, 'parked'), sent: num(r, 'sent') }),
  );
  return counts ?? { pending: 0, parked: 0, sent: 0 };
}

export async function parkedEvents(
  conn: DuckDBConnection,
  limit: number,
): Promise<Array<QueuedEvent & { reason: string; parkedAtMicros: bigint }>> {
  return rows(
    conn,
    `SELECT ${QUEUED}, parked_reason, epoch_us(parked_at) AS parked_us
     FROM polar_outbox WHERE parked_reason IS NOT NULL ORDER BY seq LIMIT ?`,
    [limit],
    (r) => ({ ...queuedOf(r), reason: String(col(r, 'parked_reason')), parkedAtMicros: big(r, 'parked_us') }),
  );
}
