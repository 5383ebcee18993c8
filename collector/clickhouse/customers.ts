/**
 * Customers on the ClickHouse store, as the DuckDB store keeps them (writer/customers.ts, writer/customer-records.ts):
 * created on first sighting with `created_at` = the earliest time seen, moved earlier by an earlier sighting until the
 * customer is upserted through the API (then its own `created_at` stands; name and email are kept unless given anew).
 * ClickHouse rows are never updated: each change is a row of `customers` (schema.ts) and the current state is their
 * aggregate, `CUSTOMER_STATE`. The registry in memory knows each customer's state, so a write adds rows only for
 * customers new or seen earlier than before. Inserts carry a token made of their rows (a retry is dropped).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { CustomerUpsert } from '../../src/records.ts';
import { identifier, type Placement } from './ddl.ts';
import { contentToken } from './record-rows.ts';
import { dateTime64Text, microsOfDateTime64 } from './values.ts';

/** The current state of every customer, as a subquery over `customers` (`db` the database). */
export const customerState = (db: string) => `(
  SELECT external_id, s_created_at AS created_at, s_name AS name, s_email AS email, s_explicit AS created_explicitly
  FROM (
    SELECT external_id,
      if(countIf(created_explicitly) > 0, argMaxIf(created_at, updated_at, created_explicitly), min(created_at))
        AS s_created_at,
      argMaxIf(name, updated_at, isNotNull(name)) AS s_name,
      argMaxIf(email, updated_at, isNotNull(email)) AS s_email,
      countIf(created_explicitly) > 0 AS s_explicit
    FROM ${identifier('database', db)}.customers GROUP BY external_id))`;
// (Aliases are prefixed inside: a ClickHouse alias is visible in the whole query and would shadow the columns the
// aggregates read.)

interface Known {
  readonly createdAtMicros: bigint;
  readonly explicit: boolean;
}

interface CustomerRow {
  readonly external_id: string;
  readonly name: string | null;
  readonly email: string | null;
  readonly created_at: string;
  readonly created_explicitly: boolean;
  readonly updated_at: string;
}

export interface CustomerView {
  readonly external_id: string;
  readonly name: string | null;
  readonly email: string | null;
  readonly created_at: string;
}

export class ClickHouseCustomers {
  private readonly known = new Map<string, Known>();
  /** The last `updated_at` written: each change gets a later one, so the latest is never a tie. */
  private lastUpdatedMicros = 0n;

  private constructor(
    private readonly client: ClickHouseClient,
    private readonly p: Placement,
  ) {}

  static async load(client: ClickHouseClient, p: Placement): Promise<ClickHouseCustomers> {
    const registry = new ClickHouseCustomers(client, p);
    const result = await client.query({
      query: `SELECT external_id, toString(created_at) AS created_at, created_explicitly,
        (SELECT toString(max(updated_at)) FROM ${identifier('database', p.database)}.customers) AS last_updated
        FROM ${customerState(p.database)}`,
      format: 'JSONEachRow',
    });
    const rows = (await result.json()) as Array<{
      external_id: string;
      created_at: string;
      created_explicitly: boolean;
      last_updated: string;
    }>;
    for (const r of rows) {
      registry.known.set(r.external_id, {
        createdAtMicros: microsOfDateTime64(r.created_at),
        explicit: r.created_explicitly,
      });
      registry.lastUpdatedMicros = microsOfDateTime64(r.last_updated);
    }
    return registry;
  }

  /**
   * Records sightings (external id → earliest time seen, µs): customers new, or auto-created and seen earlier than
   * before, get a row. Memory changes only after ClickHouse acknowledged the insert.
   */
  async record(sightings: ReadonlyMap<string, bigint>, nowMicros: bigint): Promise<void> {
    const rows: CustomerRow[] = [];
    const changes: Array<[string, Known]> = [];
    for (const [externalId, seenAt] of sightings) {
      const k = this.known.get(externalId);
      if (k !== undefined && (k.explicit || seenAt >= k.createdAtMicros)) continue;
      changes.push([externalId, { createdAtMicros: seenAt, explicit: false }]);
      rows.push(row(externalId, null, null, seenAt, false, this.tick(nowMicros)));
    }
    await this.insert(rows);
    for (const [id, k] of changes) this.known.set(id, k);
  }

  /** An upsert through the API: its `created_at` if given, else the one known, else now. */
  async upsert(u: CustomerUpsert, nowMicros: bigint): Promise<void> {
    const createdAtMicros = u.createdAtMicros ?? this.known.get(u.externalId)?.createdAtMicros ?? nowMicros;
    await this.insert([row(u.externalId, u.name, u.email, createdAtMicros, true, this.tick(nowMicros))]);
    this.known.set(u.externalId, { createdAtMicros, explicit: true });
  }

  private tick(nowMicros: bigint): bigint {
    this.lastUpdatedMicros = nowMicros > this.lastUpdatedMicros ? nowMicros : this.lastUpdatedMicros + 1n;
    return this.lastUpdatedMicros;
  }

  private async insert(rows: CustomerRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.client.insert({
      table: `${identifier('database', this.p.database)}.customers`,
      values: rows,
      format: 'JSONEachRow',
      clickhouse_settings: { insert_deduplication_token: contentToken(rows), async_insert: 0 },
    });
  }
}

function row(
  externalId: string,
  name: string | null,
  email: string | null,
  createdAtMicros: bigint,
  explicit: boolean,
  nowMicros: bigint,
): CustomerRow {
  return {
    external_id: externalId,
    name,
    email,
    created_at: dateTime64Text(createdAtMicros),
    created_explicitly: explicit,
    updated_at: dateTime64Text(nowMicros),
  };
}

const VIEW_COLUMNS = `external_id, name, email, formatDateTime(created_at, '%Y-%m-%dT%H:%i:%S.%fZ') AS created_at`;

export async function readClickHouseCustomer(
  client: ClickHouseClient,
  p: Placement,
  externalId: string,
): Promise<CustomerView | null> {
  const result = await client.query({
    query: `SELECT ${VIEW_COLUMNS} FROM ${customerState(p.database)} WHERE external_id = {id:String}`,
    query_params: { id: externalId },
    format: 'JSONEachRow',
  });
  return ((await result.json()) as CustomerView[])[0] ?? null;
}

export async function listClickHouseCustomers(
  client: ClickHouseClient,
  p: Placement,
  q: { limit: number; offset: number; query?: string | undefined },
): Promise<{ items: CustomerView[]; total: number }> {
  const where = q.query
    ? `WHERE positionCaseInsensitiveUTF8(concat(external_id, ' ', ifNull(name, ''), ' ', ifNull(email, '')), {q:String}) > 0`
    : '';
  const params = { q: q.query ?? '', limit: q.limit, offset: q.offset };
  const result = await client.query({
    query: `SELECT ${VIEW_COLUMNS}, count() OVER () AS total FROM ${customerState(p.database)} ${where}
      ORDER BY created_at, external_id LIMIT {limit:UInt32} OFFSET {offset:UInt32}`,
    query_params: params,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  const rows = (await result.json()) as Array<CustomerView & { total: number }>;
  let total = rows[0]?.total;
  if (total === undefined) {
    const count = await client.query({
      query: `SELECT count() AS n FROM ${customerState(p.database)} ${where}`,
      query_params: params,
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    total = Number(((await count.json()) as Array<{ n: number }>)[0]?.n ?? 0);
  }
  return { items: rows.map(({ total: _, ...view }) => view), total: Number(total) };
}
