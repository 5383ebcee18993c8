/**
 * Retention (CONTRACT.md §10): raw spans older than the cutoff are removed in small transactions, each first
 * folded into the summaries that keep every answer the same — `rollup_15m` already holds metrics; `trace_days`
 * feeds trace lists, `driver_slots` and `trace_roots` feed cost drivers (migration 4). Events, customers and
 * rollups are never removed. Spans still waiting for an ancestor past the cutoff are settled with the customer
 * they have (no longer pending, in the file and in memory), so a late ancestor cannot move cost that is summarized.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { transaction } from './transaction.ts';

/** Spans removed per transaction: one batch is the longest ingest waits for the writer. */
export const RETENTION_BATCH_SPANS = 10_000;

/**
 * Folds and removes one batch of spans that started before `cutoffMicros`; returns how many were removed (0 when
 * nothing is left). `settled` runs after COMMIT with the cutoff (forget pending spans before it in memory).
 */
export async function removeOldSpans(
  conn: DuckDBConnection,
  cutoffMicros: bigint,
  settled: (cutoffMicros: bigint) => void,
  batchSpans = RETENTION_BATCH_SPANS,
): Promise<number> {
  return transaction(conn, async (afterCommit) => {
    const cutoff = [cutoffMicros] as never;
    await conn.run(
      `UPDATE records SET attribution_pending = false
       WHERE attribution_pending AND source = 'span' AND ts < make_timestamp(?::BIGINT)`,
      cutoff,
    );
    afterCommit(() => settled(cutoffMicros));
    await conn.run(
      `CREATE OR REPLACE TEMP TABLE retention_batch AS
       SELECT * FROM records WHERE source = 'span' AND ts < make_timestamp(?::BIGINT) LIMIT ${batchSpans}`,
      cutoff,
    );
    const n = Number((await conn.runAndReadAll('SELECT count(*) FROM retention_batch')).getRows()[0]?.[0]);
    if (n === 0) return 0;
    await conn.run(`INSERT INTO trace_days
      SELECT trace_id, customer_id, CAST(ts AS DATE), sum(cost_amount), count(*), min(start_time_unix_nano),
        arg_min(name, start_time_unix_nano)
      FROM retention_batch GROUP BY ALL`);
    await conn.run(`INSERT INTO driver_slots
      SELECT trace_id, customer_key, time_bucket(INTERVAL 15 MINUTE, ts), llm_model, llm_vendor, service_name,
        sum(cost_amount), count(*)
      FROM retention_batch WHERE cost_amount IS NOT NULL GROUP BY ALL`);
    await conn.run(`INSERT INTO trace_roots
      SELECT trace_id, arg_min(name, start_time_unix_nano), min(start_time_unix_nano)
      FROM retention_batch WHERE parent_span_id IS NULL GROUP BY trace_id`);
    await conn.run(
      `DELETE FROM records USING retention_batch b
       WHERE records.trace_id = b.trace_id AND records.span_id = b.span_id`,
    );
    await conn.run('DROP TABLE retention_batch');
    return n;
  });
}

/** True when spans of this trace were removed by retention (its summaries remain). */
export async function traceRemoved(conn: DuckDBConnection, traceId: string): Promise<boolean> {
  const r = await conn.runAndReadAll('SELECT 1 FROM trace_days WHERE trace_id = ? LIMIT 1', [traceId]);
  return r.getRows().length > 0;
}
