/**
 * Brings a ClickHouse database to this release's schema on start (schema.ts): creates the database and the schema
 * table if missing, then applies every migration above the recorded version, in order, each followed by its version
 * row. Statements are idempotent, so an interrupted start or two collectors starting together converge. A database
 * at a newer schema than this release knows is refused, never written.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { createDatabase, createTable, identifier, type Placement } from './ddl.ts';
import { CLICKHOUSE_MIGRATIONS, CLICKHOUSE_SCHEMA_VERSION, SCHEMA_TABLE } from './schema.ts';
import { dateTime64Text } from './values.ts';

export class ClickHouseSchemaError extends Error {
  override readonly name = 'ClickHouseSchemaError';
}

export interface MigrationResult {
  readonly from: number;
  readonly to: number;
}

/** The recorded schema version (0 for a database costtrace never wrote). */
export async function clickHouseSchemaVersion(client: ClickHouseClient, p: Placement): Promise<number> {
  const db = identifier('database', p.database);
  const rows = (await (
    await client.query({ query: `SELECT max(version) AS v FROM ${db}.${SCHEMA_TABLE.name}`, format: 'JSONEachRow' })
  ).json()) as Array<{ v: number | string }>;
  return Number(rows[0]?.v ?? 0);
}

export async function migrateClickHouse(
  client: ClickHouseClient,
  p: Placement,
  nowMicros: () => bigint = () => BigInt(Date.now()) * 1000n,
): Promise<MigrationResult> {
  const db = identifier('database', p.database);
  await client.command({ query: createDatabase(p) });
  for (const query of createTable(SCHEMA_TABLE, p)) await client.command({ query });
  const from = await clickHouseSchemaVersion(client, p);
  if (from > CLICKHOUSE_SCHEMA_VERSION) {
    throw new ClickHouseSchemaError(
      `the ClickHouse database ${db} is at costtrace schema ${from}, newer than this release knows ` +
        `(${CLICKHOUSE_SCHEMA_VERSION}): run a newer costtrace, or point it at another database`,
    );
  }
  for (const m of CLICKHOUSE_MIGRATIONS) {
    if (m.version <= from) continue;
    for (const query of m.statements(p)) await client.command({ query });
    await client.insert({
      table: `${db}.${SCHEMA_TABLE.name}`,
      values: [{ version: m.version, applied_at: dateTime64Text(nowMicros()) }],
      format: 'JSONEachRow',
    });
  }
  return { from, to: Math.max(from, CLICKHOUSE_SCHEMA_VERSION) };
}
