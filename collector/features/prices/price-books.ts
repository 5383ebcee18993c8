/**
 * Price book versions (`price_books`, migration 6): every accepted book is kept with its version, when and from
 * where it came (`file` at start-up, `api` through PUT /v1/prices), as the JSON it was given. Records priced by a
 * book remember its version. Writer-side calls run on the ingest queue's connection.
 */
import { type DuckDBConnection, timestampValue } from '@duckdb/node-api';
import { big, col, num, one } from '../../db/sql.ts';
import { transaction } from '../../db/transaction.ts';

export type BookOrigin = 'file' | 'api';

export interface StoredBook {
  readonly version: number;
  readonly createdAtMicros: bigint;
  readonly origin: BookOrigin;
  /** The book as given (JSON text). */
  readonly json: string;
}

export async function latestBook(conn: DuckDBConnection): Promise<StoredBook | null> {
  const book = await one(
    conn,
    'SELECT version, epoch_us(created_at) AS created_us, origin, book FROM price_books ORDER BY version DESC LIMIT 1',
    [],
    (r): StoredBook => ({
      version: num(r, 'version'),
      createdAtMicros: big(r, 'created_us'),
      origin: col(r, 'origin') as BookOrigin,
      json: String(col(r, 'book')),
    }),
  );
  return book ?? null;
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
      await one(conn, 'SELECT coalesce(max(version), 0) + 1 AS next FROM price_books', [], (r) => col(r, 'next')),
    );
    await conn.run('INSERT INTO price_books VALUES (?, ?, ?, ?)', [next, timestampValue(nowMicros), origin, json]);
    return { version: next, createdAtMicros: nowMicros, origin, json };
  });
}
