/**
 * DuckDB Appender use, one place: rows are flushed inside the caller's transaction; a failed flush clears
 * the appender's buffer before closing it, because DuckDB flushes leftover rows again when an appender is
 * destroyed — which would fail whichever transaction is open then (found by the HTTP fuzz test).
 */
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';

export async function appendRows(
  conn: DuckDBConnection,
  table: string,
  write: (app: DuckDBAppender) => void,
): Promise<void> {
  const app = await conn.createAppender(table);
  try {
    write(app);
    app.flushSync();
  } catch (err) {
    try {
      app.clear();
    } catch {
      // the append error already propagates
    }
    throw err;
  } finally {
    try {
      app.closeSync();
    } catch {
      // closing after a failed flush fails again; the first error is the one that matters
    }
  }
}

export function appendVarcharOrNull(app: DuckDBAppender, v: string | null): void {
  if (v === null) app.appendNull();
  else app.appendVarchar(v);
}

/**
 * Exact cents: picocents into DECIMAL(38,12), as their exact decimal text (DuckDB parses it into the column's
 * type in C++). Measured: `appendDecimal` built a DECIMAL type object and a DuckDB value in JavaScript per call,
 * ~2.5 µs of the main thread per money value; the text is ~0.5 µs.
 */
export function appendMoneyOrNull(app: DuckDBAppender, picocents: bigint | null): void {
  if (picocents === null) app.appendNull();
  else app.appendVarchar(decimalText(picocents));
}

/** Picocents as DECIMAL(38,12) text: 24600000000n → "0.024600000000" (every digit, no rounding). */
export function decimalText(picocents: bigint): string {
  const negative = picocents < 0n;
  const digits = (negative ? -picocents : picocents).toString().padStart(13, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -12)}.${digits.slice(-12)}`;
}
