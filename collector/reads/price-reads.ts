/** Read-side SQL for pricing: which models arrived with token usage but no price (to add to the book). */
import type { DuckDBConnection } from '@duckdb/node-api';
import { big, num, rows, textOrNull } from '../db/sql.ts';

export interface UnpricedModel {
  readonly vendor: string | null;
  readonly model: string | null;
  /** The most common `_cost.unpriced_reason` of the group (src/semconv.ts), null for spans stored before it. */
  readonly reason: string | null;
  readonly spans: number;
  readonly lastSeenMicros: bigint;
}

/** Unpriced spans in [fromMicros, toMicros) grouped by vendor and model, most frequent first. */
export async function unpricedModels(
  conn: DuckDBConnection,
  fromMicros: bigint,
  toMicros: bigint,
  limit: number,
): Promise<UnpricedModel[]> {
  return rows(
    conn,
    `SELECT llm_vendor, llm_model, count(*) AS spans, epoch_us(max(ts)) AS last_us,
       mode(attributes->>'$."_cost.unpriced_reason"') AS reason
       FROM records
       WHERE cost_source = 'unpriced' AND ts >= make_timestamp(?::BIGINT) AND ts < make_timestamp(?::BIGINT)
       GROUP BY ALL ORDER BY count(*) DESC, llm_model NULLS LAST, llm_vendor NULLS LAST LIMIT ?`,
    [fromMicros, toMicros, limit],
    (r) => ({
      vendor: textOrNull(r, 'llm_vendor'),
      model: textOrNull(r, 'llm_model'),
      reason: textOrNull(r, 'reason'),
      spans: num(r, 'spans'),
      lastSeenMicros: big(r, 'last_us'),
    }),
  );
}
