/** Read-side SQL for pricing: which models arrived with token usage but no price (to add to the book). */
import type { DuckDBConnection } from '@duckdb/node-api';

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
  const rows = (
    await conn.runAndReadAll(
      `SELECT llm_vendor, llm_model, count(*), epoch_us(max(ts)), mode(attributes->>'$."_cost.unpriced_reason"')
       FROM records
       WHERE cost_source = 'unpriced' AND ts >= make_timestamp(?::BIGINT) AND ts < make_timestamp(?::BIGINT)
       GROUP BY ALL ORDER BY count(*) DESC, llm_model NULLS LAST, llm_vendor NULLS LAST LIMIT ?`,
      [fromMicros, toMicros, limit] as never,
    )
  ).getRows();
  return rows.map((r) => ({
    vendor: r[0] === null ? null : String(r[0]),
    model: r[1] === null ? null : String(r[1]),
    reason: r[4] === null ? null : String(r[4]),
    spans: Number(r[2]),
    lastSeenMicros: BigInt(r[3] as bigint),
  }));
}
