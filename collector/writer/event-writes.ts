/**
 * Writes validated events batches in one transaction (grouped by the ingest queue): dedupe on the
 * event id (external_id, else a generated UUID), customers created on first sighting, and event trees
 * resolved in any arrival order — an event whose parent has not arrived is `root_pending` (it still counts
 * in every metric) and is re-rooted when the missing ancestor arrives. Chains are walked at most
 * MAX_DEPTH deep, so a cycle stays pending instead of looping.
 */
import { randomUUID } from 'node:crypto';
import { type DuckDBConnection, timestampValue } from '@duckdb/node-api';
import { appendRows } from '../db/appender.ts';
import { appendRecord } from '../db/record-row.ts';
import { col, rows, textOrNull } from '../db/sql.ts';
import { transaction } from '../db/transaction.ts';
import type { EventInput } from '../events/validate.ts';
import type { CustomerRegistry } from './customers.ts';
import { type EventRow, type Projections, writeTx } from './projection.ts';

export const MAX_DEPTH = 100;

export interface EventsWritten {
  readonly inserted: number;
  readonly duplicates: number;
}

interface Row {
  readonly id: string;
  readonly e: EventInput;
  rootKey: string;
  rootPending: boolean;
}

interface StoredNode {
  readonly parent: string | null;
  readonly rootKey: string;
  readonly rootPending: boolean;
}

/**
 * Writes several requests' events in one transaction (group commit) and returns, per request, how many of
 * its events were new. The first occurrence of an id wins, across requests in arrival order.
 */
export async function writeEventRequests(
  conn: DuckDBConnection,
  projections: Projections,
  customers: CustomerRegistry,
  requests: ReadonlyArray<readonly EventInput[]>,
  ingestedAtMicros: bigint,
): Promise<EventsWritten[]> {
  const byId = new Map<string, Row>();
  const origin = new Map<string, number>();
  requests.forEach((events, request) => {
    for (const e of events) {
      const id = e.externalId ?? randomUUID();
      if (byId.has(id)) continue;
      byId.set(id, { id, e, rootKey: id, rootPending: false });
      origin.set(id, request);
    }
  });
  const result = await transaction(conn, async (afterCommit, open) => {
    const tx = writeTx(open, conn, ingestedAtMicros);
    for (const id of await existingIds(conn, [...byId.keys()])) byId.delete(id);
    const rows = [...byId.values()];
    const sightings = new Map<string, bigint>();
    for (const { e } of rows) {
      const prev = sightings.get(e.customerExternalId);
      if (prev === undefined || e.timestampMicros < prev) sightings.set(e.customerExternalId, e.timestampMicros);
    }
    const { keys, plan } = await customers.record(conn, sightings);
    afterCommit(() => customers.apply(plan));
    const outside = rows.map((r) => r.e.parentId).filter((p): p is string => p !== null && !byId.has(p));
    const stored = await storedNodes(conn, outside);
    for (const r of rows) resolveRoot(r, byId, stored);
    if (rows.length > 0) {
      await appendEvents(conn, rows, keys, ingestedAtMicros);
      await rerootWaiting(conn, rows);
      await projections.eventsAdded(
        tx,
        rows.map(({ id, e }) => eventRow(id, e, keys)),
      );
      await projections.finish(tx);
    }
    return { rows };
  });
  const inserted = requests.map(() => 0);
  for (const r of result.rows) {
    const request = origin.get(r.id) as number;
    inserted[request] = (inserted[request] ?? 0) + 1;
  }
  return requests.map((events, i) => ({
    inserted: inserted[i] as number,
    duplicates: events.length - (inserted[i] as number),
  }));
}

function resolveRoot(row: Row, batch: ReadonlyMap<string, Row>, stored: ReadonlyMap<string, StoredNode>): void {
  let cur: { id: string; parent: string | null } = { id: row.id, parent: row.e.parentId };
  const seen = new Set<string>([row.id]);
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    if (cur.parent === null) {
      row.rootKey = cur.id;
      row.rootPending = false;
      return;
    }
    const inBatch = batch.get(cur.parent);
    if (inBatch && !seen.has(inBatch.id)) {
      seen.add(inBatch.id);
      cur = { id: inBatch.id, parent: inBatch.e.parentId };
      continue;
    }
    const s = stored.get(cur.parent);
    if (s) {
      row.rootKey = s.rootKey;
      row.rootPending = s.rootPending;
      return;
    }
    break; // parent not arrived yet, or a cycle
  }
  row.rootKey = cur.id;
  row.rootPending = true;
}

async function existingIds(conn: DuckDBConnection, ids: string[]): Promise<string[]> {
  const found: string[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const hits = await rows(
      conn,
      `SELECT span_id FROM records WHERE trace_id = '' AND span_id IN (${chunk.map(() => '?').join(',')})`,
      chunk,
      (r) => String(col(r, 'span_id')),
    );
    found.push(...hits);
  }
  return found;
}

async function storedNodes(conn: DuckDBConnection, ids: string[]): Promise<Map<string, StoredNode>> {
  const out = new Map<string, StoredNode>();
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const nodes = await rows(
      conn,
      `SELECT span_id, parent_span_id, root_key, root_pending FROM records
       WHERE trace_id = '' AND span_id IN (${chunk.map(() => '?').join(',')})`,
      chunk,
      (r): [string, StoredNode] => [
        String(col(r, 'span_id')),
        {
          parent: textOrNull(r, 'parent_span_id'),
          rootKey: String(col(r, 'root_key')),
          rootPending: col(r, 'root_pending') === true,
        },
      ],
    );
    for (const [id, node] of nodes) out.set(id, node);
  }
  return out;
}

/** Events waiting under a top whose parent just arrived take the new event's root. */
async function rerootWaiting(conn: DuckDBConnection, rows: readonly Row[]): Promise<void> {
  const values = rows.map(() => '(?, ?, ?)').join(', ');
  await conn.run(
    `UPDATE records SET root_key = m.root_key, root_pending = m.root_pending
     FROM (SELECT t.span_id AS top, b.root_key, b.root_pending
           FROM records t JOIN (VALUES ${values}) b(span_id, root_key, root_pending) ON t.parent_span_id = b.span_id
           WHERE t.trace_id = '' AND t.root_pending AND t.root_key = t.span_id) m
     WHERE records.trace_id = '' AND records.root_pending AND records.root_key = m.top`,
    rows.flatMap((r) => [r.id, r.rootKey, r.rootPending]),
  );
}

async function appendEvents(
  conn: DuckDBConnection,
  rows: readonly Row[],
  keys: ReadonlyMap<string, number>,
  ingestedAtMicros: bigint,
): Promise<void> {
  const ingested = timestampValue(ingestedAtMicros);
  await appendRows(conn, 'records', (app) => {
    for (const { id, e, rootKey, rootPending } of rows) {
      const nanos = e.timestampMicros * 1000n;
      appendRecord(
        app,
        {
          source: 'event',
          traceId: '',
          spanId: id,
          parentSpanId: e.parentId,
          name: e.name,
          kind: 0,
          serviceName: null,
          scopeName: '',
          startTimeUnixNano: nanos,
          endTimeUnixNano: nanos,
          statusCode: 0,
          customerOwn: e.customerExternalId,
          resourceCustomer: null,
          chainCustomer: e.customerExternalId,
          attributionPending: false,
          customerId: e.customerExternalId,
          customerKey: keys.get(e.customerExternalId),
          costPicocents: e.costPicocents,
          costSource: e.costPicocents === null ? null : 'provided',
          priceVersion: null,
          revenuePicocents: e.revenuePicocents,
          attributesJson: attributesJson(e),
          llmVendor: e.llm?.vendor.toLowerCase() ?? null,
          llmModel: e.llm?.model ?? null,
          rootKey,
          rootPending,
        },
        ingested,
      );
    }
  });
}

/** An event as the projections see it. */
function eventRow(id: string, e: EventInput, keys: ReadonlyMap<string, number>): EventRow {
  return {
    id,
    customerId: e.customerExternalId,
    customerKey: keys.get(e.customerExternalId),
    name: e.name,
    tsMicros: e.timestampMicros,
    costPicocents: e.costPicocents,
    revenuePicocents: e.revenuePicocents,
    llmVendor: e.llm?.vendor.toLowerCase() ?? null,
    llmModel: e.llm?.model ?? null,
    attributesJson: attributesJson(e),
  };
}

function attributesJson(e: EventInput): string {
  if (e.llm === null) return e.metadataJson;
  const llm = JSON.stringify({
    vendor: e.llm.vendor,
    model: e.llm.model,
    input_tokens: e.llm.inputTokens,
    output_tokens: e.llm.outputTokens,
    total_tokens: e.llm.totalTokens,
    ...(e.llm.cachedInputTokens === null ? {} : { cached_input_tokens: e.llm.cachedInputTokens }),
  });
  return e.metadataJson === '{}' ? `{"_llm":${llm}}` : `{"_llm":${llm},${e.metadataJson.slice(1)}`;
}
