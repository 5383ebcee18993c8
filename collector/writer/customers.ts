/**
 * One identity per customer: every span, event and API call names a customer by its external id; the
 * registry maps it to an integer key (cheap to scan and count) and creates unseen customers on first
 * sighting with `created_at` = the earliest timestamp seen for them, until the customer is upserted
 * through the API (then its own `created_at` stands). Owned by the writer; state changes only after the
 * surrounding transaction commits (`apply`).
 */
import { type DuckDBConnection, timestampValue } from '@duckdb/node-api';
import type { CustomerUpsert } from '../../src/records.ts';
import { appendRows } from '../db/appender.ts';
import { big, col, num, rows } from '../db/sql.ts';

interface Known {
  readonly key: number;
  readonly createdAtMicros: bigint;
  readonly explicit: boolean;
}

export interface CustomerPlan {
  readonly changes: Array<[string, Known]>;
  readonly nextKey: number;
}

export class CustomerRegistry {
  private readonly known = new Map<string, Known>();
  private nextKey = 1;

  static async load(conn: DuckDBConnection): Promise<CustomerRegistry> {
    const registry = new CustomerRegistry();
    const stored = await rows(
      conn,
      `SELECT external_id, customer_key, epoch_us(created_at) AS created_us, created_explicitly FROM customers`,
      [],
      (r) => ({
        externalId: String(col(r, 'external_id')),
        key: num(r, 'customer_key'),
        createdAtMicros: big(r, 'created_us'),
        explicit: col(r, 'created_explicitly') === true,
      }),
    );
    for (const { externalId, ...known } of stored) {
      registry.known.set(externalId, known);
      registry.nextKey = Math.max(registry.nextKey, known.key + 1);
    }
    return registry;
  }

  keyOf(externalId: string): number | undefined {
    return this.known.get(externalId)?.key;
  }

  /**
   * Within the writer's open transaction: creates customers first seen in `sightings` (external id →
   * earliest timestamp, µs) and moves `created_at` earlier for auto-created ones seen earlier than before.
   * Returns the keys to use and the plan to `apply` after commit.
   */
  async record(
    conn: DuckDBConnection,
    sightings: ReadonlyMap<string, bigint>,
  ): Promise<{ keys: Map<string, number>; plan: CustomerPlan }> {
    const keys = new Map<string, number>();
    const created: Array<[string, Known]> = [];
    const moved: Array<[string, Known]> = [];
    let nextKey = this.nextKey;
    for (const [externalId, seenAt] of sightings) {
      const k = this.known.get(externalId);
      if (k === undefined) {
        const fresh = { key: nextKey++, createdAtMicros: seenAt, explicit: false };
        created.push([externalId, fresh]);
        keys.set(externalId, fresh.key);
      } else {
        keys.set(externalId, k.key);
        if (!k.explicit && seenAt < k.createdAtMicros) moved.push([externalId, { ...k, createdAtMicros: seenAt }]);
      }
    }
    if (created.length > 0) {
      await appendRows(conn, 'customers', (app) => {
        for (const [externalId, c] of created) {
          app.appendInteger(c.key);
          app.appendVarchar(externalId);
          app.appendNull();
          app.appendNull();
          app.appendTimestamp(timestampValue(c.createdAtMicros));
          app.appendBoolean(false);
          app.endRow();
        }
      });
    }
    for (const [, c] of moved) {
      await conn.run('UPDATE customers SET created_at = make_timestamp(?::BIGINT) WHERE customer_key = ?', [
        c.createdAtMicros,
        c.key,
      ]);
    }
    return { keys, plan: { changes: [...created, ...moved], nextKey } };
  }

  /** API upsert, within the writer's transaction. */
  async upsert(conn: DuckDBConnection, u: CustomerUpsert, nowMicros: bigint): Promise<CustomerPlan> {
    const k = this.known.get(u.externalId);
    const createdAtMicros = u.createdAtMicros ?? k?.createdAtMicros ?? nowMicros;
    const entry: Known = { key: k?.key ?? this.nextKey, createdAtMicros, explicit: true };
    if (k === undefined) {
      await conn.run('INSERT INTO customers VALUES (?, ?, ?, ?, make_timestamp(?::BIGINT), true)', [
        entry.key,
        u.externalId,
        u.name,
        u.email,
        createdAtMicros,
      ]);
    } else {
      await conn.run(
        `UPDATE customers SET name = coalesce(?, name), email = coalesce(?, email),
           created_at = make_timestamp(?::BIGINT), created_explicitly = true WHERE customer_key = ?`,
        [u.name, u.email, createdAtMicros, entry.key],
      );
    }
    return { changes: [[u.externalId, entry]], nextKey: Math.max(this.nextKey, entry.key + 1) };
  }

  apply(plan: CustomerPlan): void {
    for (const [externalId, c] of plan.changes) this.known.set(externalId, c);
    this.nextKey = Math.max(this.nextKey, plan.nextKey);
  }
}
