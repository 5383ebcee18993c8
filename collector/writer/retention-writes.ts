/**
 * Retention's write path (features/retention/retention.ts runs it): spans that started before a cutoff are removed
 * in batches, one transaction each. Pending spans past the cutoff settle first with the customer they have (the
 * projections summarize, measure and queue them as settled); every other span was summarized when it was written,
 * so removing it changes no answer.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { run } from '../db/sql.ts';
import { transaction } from '../db/transaction.ts';
import { type Projections, writeTx } from './projection.ts';

/** Spans removed per transaction: one batch is the longest ingest waits for the writer. */
export const RETENTION_BATCH_SPANS = 10_000;

/**
 * Folds and removes one batch of spans that started before `cutoffMicros`; returns how many were removed (0 when
 * nothing is left). `settled` runs after COMMIT with the cutoff (forget pending spans before it in memory).
 */
export async function removeOldSpans(
  conn: DuckDBConnection,
  /** What settling the old pending spans updates (summaries, meters, the outbox): writer/projection.ts. */
  projections: Projections,
  cutoffMicros: bigint,
  settled: (cutoffMicros: bigint) => void,
  nowMicros: bigint,
  batchSpans = RETENTION_BATCH_SPANS,
): Promise<number> {
  return transaction(conn, async (afterCommit, open) => {
    const tx = writeTx(open, conn, nowMicros);
    const cutoff = [cutoffMicros];
    const old = `source = 'span' AND ts < make_timestamp(?::BIGINT)`;
    // Pending spans past the cutoff settle with the customer they have, and join the summaries as they are.
    await projections.recordsSettled(tx, {
      relation: `(SELECT * FROM records WHERE attribution_pending AND ${old})`,
      params: cutoff,
    });
    await run(conn, `UPDATE records SET attribution_pending = false WHERE attribution_pending AND ${old}`, cutoff);
    afterCommit(() => settled(cutoffMicros));
    // Every other span was summarized when it was written: removing it changes no answer.
    await run(
      conn,
      `CREATE OR REPLACE TEMP TABLE retention_batch AS
       SELECT trace_id, span_id, ts FROM records WHERE ${old} LIMIT ${batchSpans}`,
      cutoff,
    );
    const n = Number((await conn.runAndReadAll('SELECT count(*) FROM retention_batch')).getRows()[0]?.[0]);
    if (n > 0) {
      await run(
        conn,
        `DELETE FROM records USING retention_batch b
         WHERE records.trace_id = b.trace_id AND records.span_id = b.span_id AND records.ts = b.ts
           AND records.source = 'span' AND records.ts < make_timestamp(?::BIGINT)`,
        cutoff,
      );
    }
    await conn.run('DROP TABLE retention_batch');
    await projections.finish(tx);
    return n;
  });
}
