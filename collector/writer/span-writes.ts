/**
 * Writer-side SQL: one transaction per batch (re-sent spans found by time block and left out, the rest appended),
 * attribution fix-ups for spans whose ancestors arrived later, and the
 * look-ups attribution needs. Only the ingest queue calls these, on the writer connection.
 */
import { type DuckDBConnection, timestampValue } from '@duckdb/node-api';
import { type AttributedSpan, effectiveCustomer } from '../../src/records.ts';
import { appendRows, appendVarcharOrNull } from '../db/appender.ts';
import { decimal } from '../db/money-values.ts';
import { appendRecord } from '../db/record-row.ts';
import { CREATE_STAGING } from '../db/schema.ts';
import { big, col, rows, textOrNull } from '../db/sql.ts';
import { transaction } from '../db/transaction.ts';
import type { AttributionUpdate, ParentKey, PendingSpan, SettledSpan } from './attribution-types.ts';
import type { CustomerRegistry } from './customers.ts';
import { type Projections, type RecordMove, type WriteTx, writeTx } from './projection.ts';
import { keyOf as dedupeKey, storedAlready, timeBlocks, tsBetween } from './span-dedupe.ts';

export type { AttributionUpdate } from './attribution-types.ts';

export interface BatchWritten {
  readonly inserted: number;
}

export async function prepareWriter(conn: DuckDBConnection): Promise<void> {
  for (const ddl of CREATE_STAGING) await conn.run(ddl);
}

/**
 * Writes a batch atomically; returns how many rows were new (the rest were re-sent duplicates). The spans already
 * stored are found by their time block (span-dedupe.ts) and left out; the rest are appended straight into
 * `records`, and only they count in the projections.
 */
export async function writeSpanBatch(
  conn: DuckDBConnection,
  projections: Projections,
  batch: readonly AttributedSpan[],
  updates: readonly AttributionUpdate[],
  ingestedAtMicros: bigint,
  customers: CustomerRegistry,
  /** Memory to update once the batch has committed (the attribution state). */
  onCommit: () => void,
): Promise<BatchWritten> {
  return transaction(conn, async (afterCommit, open) => {
    const tx = writeTx(open, conn, ingestedAtMicros);
    const spans = await newSpans(conn, batch);
    // Each span's customer, resolved once: sightings, rows and projections all need it.
    const customerIds = spans.map((s) => effectiveCustomer(s.record, s.attribution).customerId);
    const { keys, plan } = await customers.record(conn, customerSightings(spans, customerIds, updates));
    afterCommit(() => customers.apply(plan));
    afterCommit(onCommit);
    if (spans.length > 0) {
      await appendSpans(conn, spans, customerIds, ingestedAtMicros, keys);
      await projections.spansAdded(tx, { spans, customerIds, keys });
    }
    await applyUpdates(tx, projections, updates, keys, customers);
    await projections.finish(tx);
    return { inserted: spans.length };
  });
}

/** The batch without the spans `records` already holds (re-sends). */
async function newSpans(conn: DuckDBConnection, batch: readonly AttributedSpan[]): Promise<readonly AttributedSpan[]> {
  const stored = await storedAlready(
    conn,
    batch.map(({ record: r }) => ({ traceId: r.traceId, spanId: r.spanId, tsMicros: r.startTimeUnixNano / 1000n })),
  );
  if (stored.size === 0) return batch;
  return batch.filter(({ record: r }) => !stored.has(dedupeKey(r.traceId, r.spanId)));
}

function keyOf(customerId: string | null, keys: ReadonlyMap<string, number>): number | undefined {
  return customerId === null ? undefined : keys.get(customerId);
}

/** A resolved pending span moves its money and activity from its provisional customer to the new one. */
function movesOf(
  updates: readonly AttributionUpdate[],
  keys: ReadonlyMap<string, number>,
  customers: CustomerRegistry,
): RecordMove[] {
  const moves: RecordMove[] = [];
  for (const u of updates) {
    if (u.customerId === u.previousCustomerId) continue;
    const fromKey =
      u.previousCustomerId === null
        ? undefined
        : (keys.get(u.previousCustomerId) ?? customers.keyOf(u.previousCustomerId));
    moves.push({
      fromKey,
      toKey: keyOf(u.customerId, keys),
      tsMicros: u.tsMicros,
      revenuePicocents: u.revenuePicocents,
      costPicocents: u.costPicocents,
    });
  }
  return moves;
}

/** Earliest start (µs) per customer the batch names: customers are created on first sighting. */
function customerSightings(
  spans: readonly AttributedSpan[],
  customerIds: ReadonlyArray<string | null>,
  updates: readonly AttributionUpdate[],
): Map<string, bigint> {
  const seen = new Map<string, bigint>();
  const see = (customerId: string | null, micros: bigint) => {
    if (customerId === null) return;
    const prev = seen.get(customerId);
    if (prev === undefined || micros < prev) seen.set(customerId, micros);
  };
  spans.forEach(({ record }, i) => {
    see(customerIds[i] ?? null, record.startTimeUnixNano / 1000n);
  });
  for (const u of updates) see(u.customerId, u.tsMicros);
  return seen;
}

/**
 * The stored spans the staged attribution updates settle, with their final customer (records still hold the old).
 * Updates carry each span's start, so they read only their time block's rows.
 */
const settledByUpdates = (
  inBlock: string,
) => `(SELECT r.* REPLACE (u.customer_id AS customer_id, u.customer_key AS customer_key)
       FROM records r JOIN stage_attribution u ON r.trace_id = u.trace_id AND r.span_id = u.span_id AND r.ts = u.ts
       WHERE ${inBlock} AND r.attribution_pending AND NOT u.attribution_pending)`;

async function applyUpdates(
  tx: WriteTx,
  projections: Projections,
  updates: readonly AttributionUpdate[],
  keys: ReadonlyMap<string, number>,
  customers: CustomerRegistry,
): Promise<void> {
  if (updates.length === 0) return;
  const conn = tx.conn;
  for (const block of timeBlocks(updates, (u) => u.tsMicros)) {
    await appendUpdates(conn, block.items, keys);
    await projections.recordsSettled(tx, {
      relation: settledByUpdates(tsBetween('r.ts', block.loMicros, block.hiMicros)),
      params: [],
    });
    await conn.run(`UPDATE records SET chain_customer = u.chain_customer,
        attribution_pending = u.attribution_pending, customer_id = u.customer_id, customer_key = u.customer_key
      FROM stage_attribution u WHERE records.trace_id = u.trace_id AND records.span_id = u.span_id
        AND records.ts = u.ts AND ${tsBetween('records.ts', block.loMicros, block.hiMicros)}`);
    await conn.run('DELETE FROM stage_attribution');
  }
  await projections.recordsMoved(tx, movesOf(updates, keys, customers));
}

async function appendSpans(
  conn: DuckDBConnection,
  spans: readonly AttributedSpan[],
  customerIds: ReadonlyArray<string | null>,
  ingestedAt: bigint,
  keys: ReadonlyMap<string, number>,
) {
  const ingested = timestampValue(ingestedAt);
  await appendRows(conn, 'records', (app) => {
    for (let i = 0; i < spans.length; i++) {
      const { record: s, attribution: a } = spans[i] as AttributedSpan;
      const customerId = customerIds[i] ?? null;
      appendRecord(
        app,
        {
          source: 'span',
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId,
          name: s.name,
          kind: s.kind,
          serviceName: s.serviceName,
          scopeName: s.scopeName,
          startTimeUnixNano: s.startTimeUnixNano,
          endTimeUnixNano: s.endTimeUnixNano,
          statusCode: s.statusCode,
          customerOwn: s.customerOwn,
          resourceCustomer: s.resourceCustomer,
          chainCustomer: a.chainCustomer,
          attributionPending: a.pending,
          customerId,
          customerKey: customerId === null ? undefined : keys.get(customerId),
          costPicocents: s.costPicocents,
          costSource: s.costSource,
          priceVersion: s.priceVersion,
          revenuePicocents: s.revenuePicocents,
          attributesJson: s.attributesJson,
          llmVendor: s.llmVendor,
          llmModel: s.llmModel,
          rootKey: null,
          rootPending: false,
        },
        ingested,
      );
    }
  });
}

async function appendUpdates(
  conn: DuckDBConnection,
  updates: readonly AttributionUpdate[],
  keys: ReadonlyMap<string, number>,
) {
  await appendRows(conn, 'stage_attribution', (app) => {
    for (const u of updates) {
      app.appendVarchar(u.traceId);
      app.appendVarchar(u.spanId);
      app.appendTimestamp(timestampValue(u.tsMicros));
      appendVarcharOrNull(app, u.chainCustomer);
      app.appendBoolean(u.pending);
      appendVarcharOrNull(app, u.customerId);
      appendKey(app, u.customerId, keys);
      app.endRow();
    }
  });
}

function appendKey(
  app: { appendInteger(v: number): void; appendNull(): void },
  customerId: string | null,
  keys: ReadonlyMap<string, number>,
): void {
  const key = customerId === null ? undefined : keys.get(customerId);
  if (key === undefined) app.appendNull();
  else app.appendInteger(key);
}

/**
 * How far before the earliest start known in its trace a parent is looked for in `records` (when memory does not
 * hold it), and how far after (clocks of different services disagree). A parent outside that range is not found:
 * its children stay pending (their resource's customer, settled by retention). docs/architecture.md.
 */
export const PARENT_LOOKBACK_MICROS = 6n * 3_600_000_000n;
export const PARENT_CLOCK_SKEW_MICROS = 3_600_000_000n;

/** Settled attribution of stored spans, for parents not found in memory: one query per time block and 500 keys. */
export async function lookupSettled(conn: DuckDBConnection, keys: readonly ParentKey[]): Promise<SettledSpan[]> {
  const out: SettledSpan[] = [];
  const CHUNK = 500;
  for (const block of timeBlocks(keys, (k) => k.nearMicros)) {
    const inRange = tsBetween('ts', block.loMicros - PARENT_LOOKBACK_MICROS, block.hiMicros + PARENT_CLOCK_SKEW_MICROS);
    for (let i = 0; i < block.items.length; i += CHUNK) {
      const chunk = block.items.slice(i, i + CHUNK);
      const placeholders = chunk.map(() => '(?, ?)').join(', ');
      const found = await rows(
        conn,
        `SELECT trace_id, span_id, chain_customer, attribution_pending FROM records
         WHERE ${inRange} AND (trace_id, span_id) IN (${placeholders})`,
        chunk.flatMap((k) => [k.traceId, k.spanId]),
        (r): SettledSpan => ({
          traceId: String(col(r, 'trace_id')),
          spanId: String(col(r, 'span_id')),
          chainCustomer: textOrNull(r, 'chain_customer'),
          pending: col(r, 'attribution_pending') === true,
        }),
      );
      out.push(...found);
    }
  }
  return out;
}

/** Spans still waiting for an ancestor, reloaded at start-up so attribution survives restarts. */
export async function loadPending(conn: DuckDBConnection, limit: number): Promise<PendingSpan[]> {
  const money = (v: unknown) => (v === null ? null : decimal(v));
  return rows(
    conn,
    `SELECT trace_id, span_id, parent_span_id, resource_customer, epoch_us(ts) AS ts_us, cost_amount::VARCHAR AS cost,
       revenue_amount::VARCHAR AS revenue
     FROM records WHERE attribution_pending ORDER BY ingested_at DESC LIMIT ?`,
    [limit],
    (r): PendingSpan => ({
      tsMicros: big(r, 'ts_us'),
      costPicocents: money(col(r, 'cost')),
      revenuePicocents: money(col(r, 'revenue')),
      traceId: String(col(r, 'trace_id')),
      spanId: String(col(r, 'span_id')),
      parentSpanId: textOrNull(r, 'parent_span_id'),
      customerOwn: null,
      resourceCustomer: textOrNull(r, 'resource_customer'),
    }),
  );
}
