/**
 * The ClickHouse store's write of a batch of attributed spans (docs/clickhouse.md, "Writes"): customers sighted first
 * (a customer row is never missing for a stored span), then the batch without the spans stored already (re-sends,
 * found by identity), inserted under its content token — the rollup follows through the view, in the same insert.
 * Resolves once ClickHouse acknowledged every insert: the caller answers 2xx only then. Spans still pending attribution
 * are written as pending (settling them is a re-write).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { type AttributedSpan, effectiveCustomer } from '../../src/records.ts';
import type { ClickHouseCustomers } from './customers.ts';
import type { Placement } from './ddl.ts';
import { identityKey, insertRecordRows, spanRow, storedSpanKeys } from './record-rows.ts';

export interface SpansWritten {
  /** Spans new to the store (the rest were stored already). */
  readonly inserted: number;
}

export async function writeClickHouseSpans(
  client: ClickHouseClient,
  p: Placement,
  customers: ClickHouseCustomers,
  batch: readonly AttributedSpan[],
  ingestedAtMicros: bigint,
): Promise<SpansWritten> {
  if (batch.length === 0) return { inserted: 0 };
  // Rows first (their DateTime64 text refuses a time ClickHouse cannot hold before anything is written).
  const rows = batch.map((s) => spanRow(s, ingestedAtMicros));
  const stored = await storedSpanKeys(
    client,
    p,
    batch.map(({ record: r }) => ({ traceId: r.traceId, spanId: r.spanId, tsMicros: r.startTimeUnixNano / 1000n })),
  );
  // A span sent twice within the batch is one span: its first copy is kept.
  const seen = new Set(stored);
  const fresh: typeof rows = [];
  const sightings = new Map<string, bigint>();
  rows.forEach((row, i) => {
    const key = identityKey(row.trace_id, row.span_id, row.ts);
    if (seen.has(key)) return;
    seen.add(key);
    fresh.push(row);
    // Customers are sighted by the new spans only, as the DuckDB writer does.
    const { record, attribution } = batch[i] as AttributedSpan;
    const id = effectiveCustomer(record, attribution).customerId;
    const us = record.startTimeUnixNano / 1000n;
    if (id !== null && us < (sightings.get(id) ?? us + 1n)) sightings.set(id, us);
  });
  await customers.record(sightings, ingestedAtMicros);
  await insertRecordRows(client, p, fresh);
  return { inserted: fresh.length };
}
