/**
 * Price book versions (`price_books`, migration 6): every accepted book is kept with its version, when and from
 * where it came (`file` at start-up, `api` through PUT /v1/prices), as the JSON it was given. Records priced by a
 * book remember its version. Writer-side calls run on the ingest queue's connection.
 */
import { type DuckDBConnection, timestampValue } from '@duckdb/node-api';
import { transaction } from './transaction.ts';

export type BookOrigin = 'file' | 'api';

export interface StoredBook {
  readonly version: number;
  readonly createdAtMicros: bigint;
  readonly origin: BookOrigin;
  /** The book as given (JSON text). */
  readonly json: string;
}

export async function latestBook(conn: DuckDBConnection): Promise<StoredBook | null> {
  const rows = (
    await conn.runAndReadAll(
      'SELECT version, epoch_us(created_at), origin, book FROM price_books ORDER BY version DESC LIMIT 1',
    )
  ).getRows();
  const r = rows[0];
  if (r === undefined) return null;
  return {
    version: Number(r[0]),
    createdAtMicros: BigInt(r[1] as bigint),
    origin: r[2] as BookOrigin,
    json: String(r[3]),
  };
}

/** Stores a new version (the next number) and returns it. */
export async function saveBook(
  conn: DuckDBConnection,
  json: string,
  origin: BookOrigin,
  nowMicros: bigint,
): Promise<StoredBook> {
  return transaction(conn, async () => {
    const next = Number(
      (await conn.runAndReadAll('SELECT coalesce(max(version), 0) + 1 FROM price_books')).getRows()[0]?.[0],
    );
    await conn.run('INSERT INTO price_books VALUES (?, ?, ?, ?)', [
      next,
      timestampValue(nowMicros),
      origin,
      json,
    ] as never);
    return { version: next, createdAtMicros: nowMicros, origin, json };
  });
}
