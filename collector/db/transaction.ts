/**
 * The one rule for writes: SQL runs in a transaction, and in-memory state (customer registry, attribution
 * memory, budget spend) changes only after COMMIT — registered with `afterCommit` while the transaction runs, applied
 * once it has committed, dropped if it rolls back. Span batches, event batches and customer upserts all use it.
 */
import type { DuckDBConnection } from '@duckdb/node-api';

export type AfterCommit = (apply: () => void) => void;

/** The open transaction, handed to the code that runs in it (projections get it with the write: writer/projection.ts). */
export interface OpenTransaction {
  readonly afterCommit: AfterCommit;
  /** State that lives as long as this transaction (dropped with it on rollback), by owner. */
  readonly local: Map<symbol, unknown>;
}

export async function transaction<T>(
  conn: DuckDBConnection,
  fn: (afterCommit: AfterCommit, open: OpenTransaction) => Promise<T>,
): Promise<T> {
  const pending: Array<() => void> = [];
  const afterCommit: AfterCommit = (apply) => pending.push(apply);
  await conn.run('BEGIN TRANSACTION');
  let result: T;
  try {
    result = await fn(afterCommit, { afterCommit, local: new Map() });
    await conn.run('COMMIT');
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
  for (const apply of pending) apply();
  return result;
}

/** Runs reads in one transaction on a read connection: every statement of `fn` sees the same snapshot. */
export async function readSnapshot<T>(conn: DuckDBConnection, fn: () => Promise<T>): Promise<T> {
  await conn.run('BEGIN TRANSACTION');
  try {
    const result = await fn();
    await conn.run('COMMIT');
    return result;
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
