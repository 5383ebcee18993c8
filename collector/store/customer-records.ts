/** Customer rows as the API shows them: one, a searchable page, and the upsert (a write through the queue). */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { CustomerRegistry, CustomerUpsert } from './customers.ts';
import { transaction } from './transaction.ts';

export interface CustomerView {
  readonly external_id: string;
  readonly name: string | null;
  readonly email: string | null;
  readonly created_at: string;
}

const COLUMNS = `external_id, name, email, strftime(created_at, '%Y-%m-%dT%H:%M:%S.%fZ')`;

function toView(r: unknown[]): CustomerView {
  return {
    external_id: String(r[0]),
    name: r[1] === null ? null : String(r[1]),
    email: r[2] === null ? null : String(r[2]),
    created_at: String(r[3]),
  };
}

export async function readCustomer(conn: DuckDBConnection, externalId: string): Promise<CustomerView | null> {
  const r = await conn.runAndReadAll(`SELECT ${COLUMNS} FROM customers WHERE external_id = ?`, [externalId]);
  const row = r.getRows()[0];
  return row ? toView(row) : null;
}

export async function listCustomers(
  conn: DuckDBConnection,
  q: { limit: number; offset: number; query?: string | undefined },
): Promise<{ items: CustomerView[]; total: number }> {
  const where = q.query
    ? `WHERE contains(lower(external_id || ' ' || coalesce(name, '') || ' ' || coalesce(email, '')), lower(?))`
    : '';
  const params = q.query ? [q.query] : [];
  const rows = await conn.runAndReadAll(
    `SELECT ${COLUMNS} FROM customers ${where} ORDER BY created_at, external_id LIMIT ? OFFSET ?`,
    [...params, q.limit, q.offset],
  );
  const total = await conn.runAndReadAll(`SELECT count(*) FROM customers ${where}`, params);
  return { items: rows.getRows().map(toView), total: Number(total.getRows()[0]?.[0]) };
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
