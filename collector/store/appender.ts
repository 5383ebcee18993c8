/**
 * DuckDB Appender use, one place: rows are flushed inside the caller's transaction; a failed flush clears
 * the appender's buffer before closing it, because DuckDB flushes leftover rows again when an appender is
 * destroyed — which would fail whichever transaction is open then (found by the HTTP fuzz test).
 */
import { type DuckDBAppender, type DuckDBConnection, decimalValue } from '@duckdb/node-api';

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

/** Exact cents: picocents into DECIMAL(38,12). */
export function appendMoneyOrNull(app: DuckDBAppender, picocents: bigint | null): void {
  if (picocents === null) app.appendNull();
  else app.appendDecimal(decimalValue(picocents, 38, 12));
}
