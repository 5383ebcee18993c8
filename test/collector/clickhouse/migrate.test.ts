/**
 * The ClickHouse store's schema on the real engine (clickhouse:dev, chdb behind ClickHouse's HTTP interface), through
 * the official client: created from nothing, idempotent, converging when two collectors start at once, refusing a
 * newer schema; the tables behave as the store relies on (new rows reach the rollup once through the view, a retried
 * insert is dropped with its view, a re-written row replaces its first version, rollup differences sum, money exact); and the generated cluster DDL parses as ClickHouse SQL.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, createTable } from '../../../collector/clickhouse/ddl.ts';
import { clickHouseSchemaVersion, migrateClickHouse } from '../../../collector/clickhouse/migrate.ts';
import { CLICKHOUSE_MIGRATIONS, SCHEMA_TABLE } from '../../../collector/clickhouse/schema.ts';
import { startTestClickHouse, type TestClickHouse } from '../../helpers/clickhouse.ts';

let ch: TestClickHouse;
let client: ClickHouseClient;
const rows = <T>(query: string) => ch.rows<T>(query);

beforeAll(async () => {
  ch = await startTestClickHouse('chschema');
  client = ch.client;
}, 240_000);

afterAll(async () => {
  await ch?.close();
});

describe('ClickHouse schema', () => {
  it('creates the schema from nothing, records its version, and is a no-op the second time', async () => {
    const p = { database: 'ct_fresh' };
    expect(await migrateClickHouse(client, p)).toEqual({ from: 0, to: 1 });
    const tables = await rows<{ name: string; engine: string }>(
      "SELECT name, engine FROM system.tables WHERE database = 'ct_fresh' ORDER BY name",
    );
    expect(tables).toEqual([
      { name: 'costtrace_schema', engine: 'MergeTree' },
      { name: 'customers', engine: 'MergeTree' },
      { name: 'records', engine: 'ReplacingMergeTree' },
      { name: 'records_to_rollup', engine: 'MaterializedView' },
      { name: 'rollup_15m', engine: 'SummingMergeTree' },
    ]);
    expect(await migrateClickHouse(client, p)).toEqual({ from: 1, to: 1 });
    expect(await rows<{ n: string }>('SELECT count() AS n FROM ct_fresh.costtrace_schema')).toEqual([{ n: '1' }]);
  });

  it('converges when two collectors migrate the same database at once', async () => {
    const p = { database: 'ct_race' };
    const other = ch.newClient();
    {
      const results = await Promise.all([migrateClickHouse(client, p), migrateClickHouse(other, p)]);
      expect(results.map((r) => r.to)).toEqual([1, 1]);
      expect(await clickHouseSchemaVersion(client, p)).toBe(1);
      expect(await rows<{ n: string }>("SELECT count() AS n FROM system.tables WHERE database = 'ct_race'")).toEqual([
        { n: '5' },
      ]);
    }
  });

  it('refuses a database a newer release migrated, and writes nothing to it', async () => {
    const p = { database: 'ct_newer' };
    await migrateClickHouse(client, p);
    await client.insert({
      table: 'ct_newer.costtrace_schema',
      values: [{ version: 99, applied_at: '2030-01-01 00:00:00.000000' }],
      format: 'JSONEachRow',
    });
    await expect(migrateClickHouse(client, p)).rejects.toThrow(/at costtrace schema 99, newer than this release/);
    expect(await rows<{ n: string }>('SELECT count() AS n FROM ct_newer.costtrace_schema')).toEqual([{ n: '2' }]);
  });

  it('holds what the store relies on: new rows reach the rollup once, a retried insert and re-writes do not', async () => {
    const p = { database: 'ct_rows' };
    await migrateClickHouse(client, p);
    const span = {
      source: 'span',
      trace_id: 'a'.repeat(32),
      span_id: '1'.repeat(16),
      name: 'chat',
      kind: 3,
      start_time_unix_nano: '1735689600000000001',
      end_time_unix_nano: '1735689601000000000',
      ts: '2025-01-01 00:00:00.000000',
      status_code: 0,
      attribution_pending: true,
      cost_amount: '12345678901234567890123456.000000000001',
      attributes: '{}',
      ingested_at: '2025-01-01 00:00:01.000000',
      root_pending: false,
      row_version: 1,
    };
    const rollup = () =>
      rows<Record<string, unknown>>(
        `SELECT customer_id, toString(sum(costs)) AS c, sum(records) AS n FROM ct_rows.rollup_15m
         GROUP BY customer_id HAVING n != 0 ORDER BY customer_id`,
      );
    // Written pending (no customer yet), then the same insert retried after a lost answer: dropped, view included.
    const token = { insert_deduplication_token: 'batch-1' };
    await client.insert({
      table: 'ct_rows.records',
      values: [span],
      format: 'JSONEachRow',
      clickhouse_settings: token,
    });
    await client.insert({
      table: 'ct_rows.records',
      values: [span],
      format: 'JSONEachRow',
      clickhouse_settings: token,
    });
    expect(await rollup()).toEqual([{ customer_id: '', c: '12345678901234567890123456.000000000001', n: '1' }]);
    // Settled: the rollup's differences first (the writer's), then the row again with a higher version, which the
    // view leaves alone and FINAL reads instead of the first.
    const slot = '2025-01-01 00:00:00.000000';
    await client.insert({
      table: 'ct_rows.rollup_15m',
      values: [
        { customer_id: '', slot, revenue: '0', costs: '-12345678901234567890123456.000000000001', records: -1 },
        { customer_id: 'acme', slot, revenue: '0', costs: '12345678901234567890123456.000000000001', records: 1 },
      ],
      format: 'JSONEachRow',
    });
    await client.insert({
      table: 'ct_rows.records',
      values: [{ ...span, attribution_pending: false, customer_id: 'acme', row_version: 2 }],
      format: 'JSONEachRow',
    });
    expect(await rollup()).toEqual([{ customer_id: 'acme', c: '12345678901234567890123456.000000000001', n: '1' }]);
    expect(
      await rows<Record<string, unknown>>(
        'SELECT customer_id, attribution_pending, toString(cost_amount) AS cost, count() OVER () AS n FROM ct_rows.records FINAL',
      ),
    ).toEqual([
      { customer_id: 'acme', attribution_pending: false, cost: '12345678901234567890123456.000000000001', n: '1' },
    ]);
  });

  it('generates cluster DDL that parses as ClickHouse SQL (it cannot run here: no Keeper, no cluster)', async () => {
    const p = { database: 'costtrace', cluster: 'prod' };
    const statements = [
      createDatabase(p),
      ...createTable(SCHEMA_TABLE, p),
      ...CLICKHOUSE_MIGRATIONS.flatMap((m) => m.statements(p)),
    ];
    for (const s of statements) {
      const ast = await (await client.query({ query: `EXPLAIN AST ${s}`, format: 'TabSeparatedRaw' })).text();
      expect(ast, s).toMatch(/Create(Query|DatabaseQuery)|CreateQuery/);
    }
  });
});
