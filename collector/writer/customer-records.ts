/** Customer rows as the API shows them: one, a searchable page, and the upsert (a write through the queue). */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { CustomerUpsert } from '../../src/records.ts';
import { col, one, type Row, rows, textOrNull } from '../db/sql.ts';
import { transaction } from '../db/transaction.ts';
import type { CustomerRegistry } from './customers.ts';

export interface CustomerView {
  readonly external_id: string;
  readonly name: string | null;
  readonly email: string | null;
  readonly created_at: string;
}

const COLUMNS = `external_id, name, email, strftime(created_at, '%Y-%m-%dT%H:%M:%S.%fZ') AS created_iso`;

function toView(r: Row): CustomerView {
  return {
    external_id: String(col(r, 'external_id')),
    name: textOrNull(r, 'name'),
    email: textOrNull(r, 'email'),
    created_at: String(col(r, 'created_iso')),
  };
}

export async function readCustomer(conn: DuckDBConnection, externalId: string): Promise<CustomerView | null> {
  return (await one(conn, `SELECT ${COLUMNS} FROM customers WHERE external_id = ?`, [externalId], toView)) ?? null;
}

export async function listCustomers(
  conn: DuckDBConnection,
  q: { limit: number; offset: number; query?: string | undefined },
): Promise<{ items: CustomerView[]; total: number }> {
  const where = q.query
    ? `WHERE contains(lower(external_id || ' ' || coalesce(name, '') || ' ' || coalesce(email, '')), lower(?))`
    : '';
  const params = q.query ? [q.query] : [];
  const items = await rows(
    conn,
    `SELECT ${COLUMNS} FROM customers ${where} ORDER BY created_at, external_id LIMIT ? OFFSET ?`,
    [...params, q.limit, q.offset],
    toView,
  );
  const total = await one(conn, `SELECT count(*) AS n FROM customers ${where}`, params, (r) => col(r, 'n'));
  return { items, total: Number(total) };
}

/** The upsert in its own transaction; the registry learns of it only once committed. */
export async function upsertCustomer(
  conn: DuckDBConnection,
  customers: CustomerRegistry,
  u: CustomerUpsert,
  nowMicros: bigint,
): Promise<void> {
  await transaction(conn, async (afterCommit) => {
    const plan = await customers.upsert(conn, u, nowMicros);
    afterCommit(() => customers.apply(plan));
  });
}
