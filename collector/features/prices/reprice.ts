/**
 * Re-pricing stored spans (docs/contract.md §8, `POST /v1/prices/reprice`), about 10,000 records (whole 15-minute
 * slots) per transaction so a year of data never holds one giant transaction and ingest interleaves. Only costs the collector computed are
 * touched (never `provided` or `reported`); a changed record moves its rollup slot and its trace summaries by the
 * difference in the same transaction (summary parts with a span count of 0 leave first names and counts as
 * they are; spans still pending have no summary yet). Running it again with the same book changes nothing.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { ATTR_COST_UNPRICED_REASON } from '../../../src/semconv.ts';
import { appendMoneyOrNull, appendRows, appendVarcharOrNull } from '../../db/appender.ts';
import { decimal } from '../../db/money-values.ts';
import { col, num, read } from '../../db/sql.ts';
import { transaction } from '../../db/transaction.ts';
import type { Priced } from '../../pipeline/normalize.ts';
import { type Projections, type WriteTx, writeTx } from '../../writer/projection.ts';
import { recordChunk } from './reprice-runs.ts';

export interface StoredSpanToPrice {
  readonly name: string;
  /** Its instrumentation scope (how its producer reports usage: src/llm-usage.ts). */
  readonly scopeName: string;
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  /** The kept attributes, as stored (JSON object text). */
  readonly attributesJson: string;
}

export interface RepriceTally {
  records: number;
  changed: number;
  deltaPicocents: bigint;
}

const STAGE = `CREATE TEMP TABLE IF NOT EXISTS stage_reprice (
  trace_id VARCHAR NOT NULL, span_id VARCHAR NOT NULL, cost DECIMAL(38,12), cost_source VARCHAR, price_version INTEGER,
  attributes VARCHAR)`;

/** Re-prices the collector-priced spans that started in [fromMicros, toMicros) (one chunk, one transaction). */
export async function repriceChunk(
  conn: DuckDBConnection,
  /** What the changed costs move (rollup, summaries, the insight index): writer/projection.ts. */
  projections: Projections,
  fromMicros: bigint,
  toMicros: bigint,
  price: (span: StoredSpanToPrice) => Priced,
  tally: RepriceTally,
  /** The clock (µs): when a threshold the re-priced costs cross is recorded. */
  nowMicros: bigint,
  /** The run this chunk belongs to (reprice-runs.ts): its progress is committed with the chunk. */
  runId?: number,
): Promise<void> {
  await transaction(conn, async (_, open) => {
    const tx = writeTx(open, conn, nowMicros);
    const start = { records: tally.records, changed: tally.changed, deltaPicocents: tally.deltaPicocents };
    await repriceRows(tx, projections, fromMicros, toMicros, price, tally);
    await projections.finish(tx);
    if (runId !== undefined) {
      await recordChunk(conn, runId, toMicros, {
        records: tally.records - start.records,
        changed: tally.changed - start.changed,
        deltaPicocents: tally.deltaPicocents - start.deltaPicocents,
      });
    }
  });
}

async function repriceRows(
  tx: WriteTx,
  projections: Projections,
  fromMicros: bigint,
  toMicros: bigint,
  price: (span: StoredSpanToPrice) => Priced,
  tally: RepriceTally,
): Promise<void> {
  const conn = tx.conn;
  {
    const rows = (
      await read(
        conn,
        `SELECT trace_id, span_id, name, start_time_unix_nano, end_time_unix_nano, attributes, cost_amount::VARCHAR AS cost,
           cost_source, price_version, scope_name
         FROM records
         WHERE source = 'span' AND (cost_source IS NULL OR cost_source IN ('priced', 'inferred', 'unpriced'))
           AND ts >= make_timestamp(?::BIGINT) AND ts < make_timestamp(?::BIGINT)`,
        [fromMicros, toMicros],
      )
    ).getRowObjects();
    tally.records += rows.length;
    const changes: Array<{ traceId: string; spanId: string; priced: Priced; attributes: string | null }> = [];
    for (const r of rows) {
      const cost = col(r, 'cost');
      const before = cost === null ? null : decimal(cost);
      const attributesJson = String(col(r, 'attributes') ?? '{}');
      const priced = price({
        name: String(col(r, 'name')),
        scopeName: String(col(r, 'scope_name') ?? ''),
        startTimeUnixNano: col(r, 'start_time_unix_nano') as bigint,
        endTimeUnixNano: col(r, 'end_time_unix_nano') as bigint,
        attributesJson,
      });
      const version = col(r, 'price_version') === null ? null : num(r, 'price_version');
      const attributes = withReason(attributesJson, priced.unpricedReason ?? null);
      const same =
        priced.costPicocents === before &&
        priced.costSource === col(r, 'cost_source') &&
        priced.priceVersion === version;
      if (same && attributes === null) continue;
      changes.push({ traceId: String(col(r, 'trace_id')), spanId: String(col(r, 'span_id')), priced, attributes });
      tally.deltaPicocents += (priced.costPicocents ?? 0n) - (before ?? 0n);
    }
    if (changes.length === 0) return;
    tally.changed += changes.length;
    await conn.run(STAGE);
    await appendRows(conn, 'stage_reprice', (app) => {
      for (const c of changes) {
        app.appendVarchar(c.traceId);
        app.appendVarchar(c.spanId);
        appendMoneyOrNull(app, c.priced.costPicocents);
        appendVarcharOrNull(app, c.priced.costSource);
        if (c.priced.priceVersion === null) app.appendNull();
        else app.appendInteger(c.priced.priceVersion);
        appendVarcharOrNull(app, c.attributes);
        app.endRow();
      }
    });
    // Bounded by the chunk's time range too, so DuckDB reads only its row groups (zone maps), not every record.
    const window = [fromMicros, toMicros];
    const inChunk = 'r.ts >= make_timestamp(?::BIGINT) AND r.ts < make_timestamp(?::BIGINT)';
    const changed = `records r JOIN stage_reprice s USING (trace_id, span_id)`;
    // Differences, while records still hold the old costs: rollup (every record), summaries (settled spans), the
    // insight index (the days touched).
    await projections.recordsRepriced(tx, { changed, inWindow: inChunk, window, fromMicros, toMicros });
    await conn.run(
      `UPDATE records SET cost_amount = s.cost, cost_source = s.cost_source, price_version = s.price_version,
        attributes = coalesce(s.attributes, records.attributes)
      FROM stage_reprice s WHERE records.trace_id = s.trace_id AND records.span_id = s.span_id
        AND records.ts >= make_timestamp(?::BIGINT) AND records.ts < make_timestamp(?::BIGINT)`,
      window,
    );
    await conn.run('DELETE FROM stage_reprice');
  }
}

/**
 * The stored attributes with the unpriced reason as ingest would have kept it (src/semconv.ts
 * ATTR_COST_UNPRICED_REASON): set for an unpriced span, removed from a priced one; null when nothing changes.
 */
function withReason(attributesJson: string, reason: string | null): string | null {
  const had = attributesJson.includes(`"${ATTR_COST_UNPRICED_REASON}"`);
  if (!had && reason === null) return null;
  const attributes = JSON.parse(attributesJson) as Record<string, unknown>;
  if (attributes[ATTR_COST_UNPRICED_REASON] === (reason ?? undefined)) return null;
  delete attributes[ATTR_COST_UNPRICED_REASON];
  if (reason !== null) attributes[ATTR_COST_UNPRICED_REASON] = reason;
  return JSON.stringify(attributes);
}
