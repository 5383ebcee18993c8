/**
 * The one rule for writes: SQL runs in a transaction, and in-memory state (customer registry, attribution
 * memory) changes only after COMMIT — registered with `afterCommit` while the transaction runs, applied once
 * it has committed, dropped if it rolls back. Span batches, event batches and customer upserts all use it.
 */
import type { DuckDBConnection } from '@duckdb/node-api';

export type AfterCommit = (apply: () => void) => void;

export async function transaction<T>(conn: DuckDBConnection, fn: (afterCommit: AfterCommit) => Promise<T>): Promise<T> {
  const pending: Array<() => void> = [];
  await conn.run('BEGIN TRANSACTION');
  let result: T;
  try {
    result = await fn((apply) => pending.push(apply));
    await conn.run('COMMIT');
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
  for (const apply of pending) apply();
  return result;
}
