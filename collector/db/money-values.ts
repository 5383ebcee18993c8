/**
 * Money as the engine returns it: DECIMAL(38,12) values (their unscaled value is the picocents) or their text.
 * A leaf module (no store imports) so every read and write path can decode money without import cycles.
 */
import { DuckDBDecimalValue } from '@duckdb/node-api';
import { type Picocents, parseDecimalString } from '../../src/money.ts';

/** A DECIMAL(38,12) value read as is (no ::VARCHAR, no text to parse): its unscaled value is the picocents. */
export function picocentsOf(v: unknown): Picocents {
  if (v instanceof DuckDBDecimalValue && v.scale === 12) return v.value;
  return decimal(v);
}

/** Decimal text (or a value whose text is one) from the store, as picocents. */
export function decimal(v: unknown): Picocents {
  const parsed = parseDecimalString(String(v ?? '0'));
  if (!parsed.ok) throw new Error(`unexpected decimal from store: ${String(v)}`);
  return parsed.picocents;
}
