/**
 * Per-trace summaries (CONTRACT.md §10), kept in step with `records` inside every write transaction, so trace
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
 * Every way in goes through `foldParts`: one definition of what a summary holds, from a relation of "parts"
 * (one row per settled span) built by the Appender (new spans) or by SQL over records (everything else).
 */
import { type DuckDBConnection, timestampValue } from '@duckdb/node-api';
import type { AttributedSpan } from '../../src/records.ts';
import { appendMoneyOrNull, appendRows, appendVarcharOrNull } from './appender.ts';

/** Temp table of parts written by the Appender (schema.ts CREATE_STAGING), column order as `PART_COLUMNS`. */
export const STAGE_PARTS = 'stage_trace_parts';

/** The columns of a part, selected from a `records`-shaped relation. */
export const PARTS_FROM_RECORDS = `trace_id, customer_id, customer_key, ts, start_time_unix_nano AS start_ns, name,
  parent_span_id IS NULL AS is_root, cost_amount AS cost, cost_source = 'unpriced' AS unpriced, llm_model,
  llm_vendor, service_name`;

/** Adds the parts given as SQL (columns as PARTS_FROM_RECORDS) to the three summary tables. */
export async function foldParts(conn: DuckDBConnection, partsSql: string, params: unknown[] = []): Promise<void> {
  const p = params as never;
  await conn.run(
    `INSERT INTO trace_days (trace_id, customer_id, day, cost, span_count, start_ns, first_name, unpriced_spans)
     SELECT trace_id, customer_id, CAST(ts AS DATE), sum(cost), count(*), min(start_ns),
       arg_min(name, (start_ns, name)), count(*) FILTER (WHERE unpriced)
     FROM (${partsSql}) GROUP BY trace_id, customer_id, CAST(ts AS DATE)`,
    p,
  );
  await conn.run(
    `INSERT INTO driver_slots (trace_id, customer_key, slot, llm_model, llm_vendor, service_name, cost, records)
     SELECT trace_id, customer_key, time_bucket(INTERVAL 15 MINUTE, ts), llm_model, llm_vendor, service_name,
       sum(cost), count(*)
     FROM (${partsSql}) WHERE cost IS NOT NULL GROUP BY ALL`,
    p,
  );
  await conn.run(
    `INSERT INTO trace_roots (trace_id, root_name, root_start_ns)
     SELECT trace_id, arg_min(name, (start_ns, name)), min(start_ns)
     FROM (${partsSql}) WHERE is_root GROUP BY trace_id`,
    p,
  );
}

/** Summarizes new spans that are settled on arrival (the batch's fast path; pending ones wait). */
export async function foldNewSpans(
  conn: DuckDBConnection,
  spans: readonly AttributedSpan[],
  customerIds: ReadonlyArray<string | null>,
  keys: ReadonlyMap<string, number>,
): Promise<void> {
  let staged = 0;
  await appendRows(conn, STAGE_PARTS, (app) => {
    for (let i = 0; i < spans.length; i++) {
      const { record: s, attribution: a } = spans[i] as AttributedSpan;
      if (a.pending) continue;
      const customerId = customerIds[i] ?? null;
      const key = customerId === null ? undefined : keys.get(customerId);
      app.appendVarchar(s.traceId);
      appendVarcharOrNull(app, customerId);
      if (key === undefined) app.appendNull();
      else app.appendInteger(key);
      app.appendTimestamp(timestampValue(s.startTimeUnixNano / 1000n));
      app.appendUBigInt(s.startTimeUnixNano);
      app.appendVarchar(s.name);
      app.appendBoolean(s.parentSpanId === null);
      appendMoneyOrNull(app, s.costPicocents);
      app.appendBoolean(s.costSource === 'unpriced');
      appendVarcharOrNull(app, s.llmModel);
      appendVarcharOrNull(app, s.llmVendor);
      appendVarcharOrNull(app, s.serviceName);
      app.endRow();
      staged++;
    }
  });
  if (staged === 0) return;
  await foldParts(conn, `SELECT * FROM ${STAGE_PARTS}`);
  await conn.run(`DELETE FROM ${STAGE_PARTS}`);
}

/** Summarizes stored pending spans that `stage_attribution` settles; run before records are updated. */
export async function foldSettledByUpdates(conn: DuckDBConnection): Promise<void> {
  await foldParts(
    conn,
    `SELECT ${PARTS_FROM_RECORDS} FROM (
       SELECT r.* REPLACE (u.customer_id AS customer_id, u.customer_key AS customer_key)
       FROM records r JOIN stage_attribution u USING (trace_id, span_id)
       WHERE r.attribution_pending AND NOT u.attribution_pending)`,
  );
}

/** Summarizes every stored span that is settled (opening a file that has none, data loaded around ingest). */
export async function foldAllSettledSpans(conn: DuckDBConnection): Promise<void> {
  await foldParts(conn, `SELECT ${PARTS_FROM_RECORDS} FROM records WHERE source = 'span' AND NOT attribution_pending`);
}
