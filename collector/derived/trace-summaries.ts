/**
 * Per-trace summaries (docs/contract.md §10), kept in step with `records` inside every write transaction, so trace
 * lists and cost drivers read summaries instead of raw spans and answer the same after retention removes them:
 * - `trace_days`: per trace, customer and UTC day — cost, span count, unpriced spans, earliest start and its name
 *   (trace lists);
 * - `driver_slots`: per trace, customer, 15-minute slot, model, vendor and service — cost and cost-bearing
 *   records (cost drivers; local-day windows are unions of slots);
 * - `trace_roots`: each root span's name and start (cost drivers by root name).
 *
 * A span is summarized once, when it is settled: on arrival if its customer is known, else when attribution
 * resolves it (the update carries its final customer) or retention settles it. Spans still pending are read
 * live from `records` next to the summaries (there are few). Rows are appended as parts and summed at read
 * time: a trace whose spans arrive in several batches has several parts, never an update in place.
 *
 * `foldParts` defines what a summary holds, from a relation of "parts" (one row per settled span) selected
 * from records (attribution updates, re-sent batches, retention, data loaded around ingest); new spans on the
 * hot path are grouped in JS to the same rows (`foldNewSpans`).
 */
import { type DuckDBConnection, dateValue, timestampValue } from '@duckdb/node-api';
import type { AttributedSpan } from '../../src/records.ts';
import { DAY_MICROS as DAY_US, dayNumber, SLOT_MICROS as SLOT_US } from '../core/time.ts';
import { appendMoneyOrNull, appendRows, appendVarcharOrNull } from '../db/appender.ts';
import { num, rows, run, type SqlParams } from '../db/sql.ts';
import type { Projection, RecordSet, Repriced, SpanBatch, WriteTx } from '../writer/projection.ts';

/**
 * The days a summary part lands on, for what indexes ended days (the insight index): a new part of an indexed day
 * un-indexes it in the same transaction.
 */
export interface DayIndex {
  anyIndexed(): boolean;
  unindexDays(tx: WriteTx, days: Iterable<number>): Promise<void>;
}

/** The summaries as a projection: new settled spans, settled pending ones, re-priced costs. */
export class TraceSummaries implements Projection {
  readonly name = 'trace summaries';

  constructor(private readonly index: DayIndex) {}

  async spansAdded(tx: WriteTx, batch: SpanBatch): Promise<void> {
    await foldNewSpans(tx, batch, this.index);
  }

  async recordsAdded(tx: WriteTx, added: RecordSet): Promise<void> {
    await foldParts(
      tx.conn,
      `SELECT ${PARTS_FROM_RECORDS} FROM ${added.relation} r WHERE r.source = 'span' AND NOT r.attribution_pending`,
      added.params,
      { tx, index: this.index },
    );
  }

  async recordsSettled(tx: WriteTx, settled: RecordSet): Promise<void> {
    await foldParts(
      tx.conn,
      `SELECT ${PARTS_FROM_RECORDS} FROM ${settled.relation} r WHERE r.source = 'span'`,
      settled.params,
      { tx, index: this.index },
    );
  }

  /** The differences, while records still hold the old costs (settled spans only: pending ones are read live). */
  async recordsRepriced(tx: WriteTx, r: Repriced): Promise<void> {
    await run(
      tx.conn,
      `INSERT INTO trace_days (trace_id, customer_id, day, cost, span_count, start_ns, first_name, unpriced_spans)
      SELECT r.trace_id, r.customer_id, CAST(r.ts AS DATE), coalesce(s.cost, 0) - coalesce(r.cost_amount, 0), 0,
        r.start_time_unix_nano, r.name,
        (s.cost_source IS NOT DISTINCT FROM 'unpriced')::BIGINT - (r.cost_source IS NOT DISTINCT FROM 'unpriced')::BIGINT
      FROM ${r.changed} WHERE NOT r.attribution_pending AND ${r.inWindow}`,
      r.window,
    );
    await run(
      tx.conn,
      `INSERT INTO driver_slots (trace_id, customer_key, slot, llm_model, llm_vendor, service_name, cost, records)
      SELECT r.trace_id, r.customer_key, time_bucket(INTERVAL 15 MINUTE, r.ts), r.llm_model, r.llm_vendor,
        r.service_name, -r.cost_amount, -1
      FROM ${r.changed} WHERE NOT r.attribution_pending AND r.cost_amount IS NOT NULL AND ${r.inWindow}
      UNION ALL
      SELECT r.trace_id, r.customer_key, time_bucket(INTERVAL 15 MINUTE, r.ts), r.llm_model, r.llm_vendor,
        r.service_name, s.cost, 1
      FROM ${r.changed} WHERE NOT r.attribution_pending AND s.cost IS NOT NULL AND ${r.inWindow}`,
      [...r.window, ...r.window],
    );
  }
}

/** The columns of a part, selected from a `records`-shaped relation. */
export const PARTS_FROM_RECORDS = `trace_id, customer_id, customer_key, ts, start_time_unix_nano AS start_ns, name,
  parent_span_id IS NULL AS is_root, cost_amount AS cost, cost_source = 'unpriced' AS unpriced, llm_model,
  llm_vendor, service_name`;

/**
 * Adds the parts given as SQL (columns as PARTS_FROM_RECORDS) to the three summary tables; inside a write, `days`
 * un-indexes the days they land on.
 */
export async function foldParts(
  conn: DuckDBConnection,
  partsSql: string,
  params: SqlParams = [],
  days?: { readonly tx: WriteTx; readonly index: DayIndex },
): Promise<void> {
  const p = params;
  const traceDays = `INSERT INTO trace_days (trace_id, customer_id, day, cost, span_count, start_ns, first_name, unpriced_spans)
     SELECT trace_id, customer_id, CAST(ts AS DATE), sum(cost), count(*), min(start_ns),
       arg_min(name, (start_ns, name)), count(*) FILTER (WHERE unpriced)
     FROM (${partsSql}) GROUP BY trace_id, customer_id, CAST(ts AS DATE)`;
  if (days?.index.anyIndexed()) {
    // The days the parts land on, from the insert itself (the parts are not evaluated once more to find them).
    const landed = await rows(conn, `${traceDays} RETURNING ${dayNumber('day')} AS day_number`, p, (r) =>
      num(r, 'day_number'),
    );
    await days.index.unindexDays(days.tx, landed);
  } else await run(conn, traceDays, p);
  await run(
    conn,
    `INSERT INTO driver_slots (trace_id, customer_key, slot, llm_model, llm_vendor, service_name, cost, records)
     SELECT trace_id, customer_key, time_bucket(INTERVAL 15 MINUTE, ts), llm_model, llm_vendor, service_name,
       sum(cost), count(*)
     FROM (${partsSql}) WHERE cost IS NOT NULL GROUP BY ALL`,
    p,
  );
  await run(
    conn,
    `INSERT INTO trace_roots (trace_id, root_name, root_start_ns)
     SELECT trace_id, arg_min(name, (start_ns, name)), min(start_ns)
     FROM (${partsSql}) WHERE is_root GROUP BY trace_id`,
    p,
  );
}

interface DayPart {
  readonly customerId: string | null;
  readonly day: number;
  cost: bigint | null;
  spans: bigint;
  startNs: bigint;
  firstName: string;
  unpriced: bigint;
}

interface SlotPart {
  readonly customerKey: number | undefined;
  readonly slotMicros: number;
  readonly model: string | null;
  readonly vendor: string | null;
  readonly service: string | null;
  cost: bigint;
  records: bigint;
}

interface TraceParts {
  readonly days: DayPart[];
  readonly slots: SlotPart[];
  root: { startNs: bigint; name: string } | null;
}

/** As doubles, for the hot path (exact: both are below 2^53). */
const DAY_MICROS = Number(DAY_US);
const SLOT_MICROS = Number(SLOT_US);

/** UTC day number and 15-minute slot (µs) of a start time; exact also past 2255, where µs outgrow doubles. */
function dayAndSlot(startNs: bigint): { day: number; slotMicros: number } {
  const micros = startNs / 1000n;
  if (micros <= BigInt(Number.MAX_SAFE_INTEGER)) {
    const m = Number(micros);
    return { day: Math.floor(m / DAY_MICROS), slotMicros: m - (m % SLOT_MICROS) };
  }
  // Past 2^53 µs (year 2255) divide in BigInt; a slot start is a multiple of 9·10^8 = 2^8·3515625 µs, exactly a
  // double below 2^61 µs (times end at 2^64 ns ≈ 2^54 µs).
  return {
    day: Number(micros / BigInt(DAY_MICROS)),
    slotMicros: Number(micros - (micros % BigInt(SLOT_MICROS))),
  };
}

/** DuckDB orders VARCHAR by UTF-8 bytes; JS `<` by UTF-16 units: ties on start time compare like DuckDB. */
function earlier(startA: bigint, nameA: string, startB: bigint, nameB: string): boolean {
  if (startA !== startB) return startA < startB;
  return Buffer.compare(Buffer.from(nameA), Buffer.from(nameB)) < 0;
}

/**
 * Summarizes new spans that are settled on arrival (pending ones wait). The hot path: the batch is grouped in JS
 * and appended straight into the summary tables — the same sums, counts and earliest (start, name) as
 * `foldParts`, which the property test (test/collector/derived/trace-summaries.test.ts) holds both to; staging every span
 * and folding in SQL cost ~22% of ingest throughput, this a fraction of it.
 */
async function foldNewSpans(tx: WriteTx, { spans, customerIds, keys }: SpanBatch, index: DayIndex): Promise<void> {
  const conn = tx.conn;
  // Grouped per trace, then by a short linear search over the trace's parts (usually one or two): no key
  // strings to build per span.
  const byTrace = new Map<string, TraceParts>();
  const days = new Set<number>();
  for (let i = 0; i < spans.length; i++) {
    const { record: s, attribution: a } = spans[i] as AttributedSpan;
    if (a.pending) continue;
    const customerId = customerIds[i] ?? null;
    const start = s.startTimeUnixNano;
    const { day, slotMicros } = dayAndSlot(start);
    days.add(day);
    let t = byTrace.get(s.traceId);
    if (t === undefined) {
      t = { days: [], slots: [], root: null };
      byTrace.set(s.traceId, t);
    }
    const d = t.days.find((x) => x.day === day && x.customerId === customerId);
    if (d === undefined) {
      t.days.push({
        customerId,
        day,
        cost: s.costPicocents,
        spans: 1n,
        startNs: start,
        firstName: s.name,
        unpriced: s.costSource === 'unpriced' ? 1n : 0n,
      });
    } else {
      if (s.costPicocents !== null) d.cost = (d.cost ?? 0n) + s.costPicocents;
      d.spans++;
      if (s.costSource === 'unpriced') d.unpriced++;
      if (earlier(start, s.name, d.startNs, d.firstName)) {
        d.startNs = start;
        d.firstName = s.name;
      }
    }
    if (s.parentSpanId === null && (t.root === null || earlier(start, s.name, t.root.startNs, t.root.name))) {
      t.root = { startNs: start, name: s.name };
    }
    if (s.costPicocents === null) continue;
    const customerKey = customerId === null ? undefined : keys.get(customerId);
    const p = t.slots.find(
      (x) =>
        x.slotMicros === slotMicros &&
        x.customerKey === customerKey &&
        x.model === s.llmModel &&
        x.vendor === s.llmVendor &&
        x.service === s.serviceName,
    );
    if (p === undefined) {
      t.slots.push({
        customerKey,
        slotMicros,
        model: s.llmModel,
        vendor: s.llmVendor,
        service: s.serviceName,
        cost: s.costPicocents,
        records: 1n,
      });
    } else {
      p.cost += s.costPicocents;
      p.records++;
    }
  }
  if (byTrace.size === 0) return;
  await index.unindexDays(tx, days);
  await appendRows(conn, 'trace_days', (app) => {
    for (const [traceId, t] of byTrace) {
      for (const d of t.days) {
        app.appendVarchar(traceId);
        appendVarcharOrNull(app, d.customerId);
        app.appendDate(dateValue(d.day));
        appendMoneyOrNull(app, d.cost);
        app.appendBigInt(d.spans);
        app.appendUBigInt(d.startNs);
        app.appendVarchar(d.firstName);
        app.appendBigInt(d.unpriced);
        app.endRow();
      }
    }
  });
  await appendRows(conn, 'driver_slots', (app) => {
    for (const [traceId, t] of byTrace) {
      for (const p of t.slots) {
        app.appendVarchar(traceId);
        if (p.customerKey === undefined) app.appendNull();
        else app.appendInteger(p.customerKey);
        app.appendTimestamp(timestampValue(BigInt(p.slotMicros)));
        appendVarcharOrNull(app, p.model);
        appendVarcharOrNull(app, p.vendor);
        appendVarcharOrNull(app, p.service);
        appendMoneyOrNull(app, p.cost);
        app.appendBigInt(p.records);
        app.endRow();
      }
    }
  });
  await appendRows(conn, 'trace_roots', (app) => {
    for (const [traceId, t] of byTrace) {
      if (t.root === null) continue;
      app.appendVarchar(traceId);
      app.appendVarchar(t.root.name);
      app.appendUBigInt(t.root.startNs);
      app.endRow();
    }
  });
}

/** Summarizes every stored span that is settled (opening a file that has none, data loaded around ingest). */
export async function foldAllSettledSpans(conn: DuckDBConnection): Promise<void> {
  await foldParts(conn, `SELECT ${PARTS_FROM_RECORDS} FROM records WHERE source = 'span' AND NOT attribution_pending`);
}
