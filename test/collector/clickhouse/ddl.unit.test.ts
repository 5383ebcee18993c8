import { describe, expect, it } from 'vitest';
import { addColumn, createDatabase, createTable, identifier } from '../../../collector/clickhouse/ddl.ts';
import { CLICKHOUSE_MIGRATIONS, ROLLUP, SCHEMA_TABLE } from '../../../collector/clickhouse/schema.ts';

const single = { database: 'costtrace' };
const cluster = { database: 'costtrace', cluster: 'prod' };

describe('ClickHouse DDL (one server and a cluster)', () => {
  it('creates plain MergeTree tables on one server, with a deduplication window for insert tokens', () => {
    expect(createTable(ROLLUP, single)).toEqual([
      `CREATE TABLE IF NOT EXISTS costtrace.rollup_15m (
  customer_id String,
  slot DateTime64(6, 'UTC'),
  revenue Decimal(38, 12),
  costs Decimal(38, 12),
  records Int64
) ENGINE = SummingMergeTree((revenue, costs, records))
PARTITION BY toYYYYMM(slot)
ORDER BY (customer_id, slot)
SETTINGS non_replicated_deduplication_window = 1000`,
    ]);
  });

  it('creates, on a cluster, replicated local tables per shard behind a Distributed table sharded by its key', () => {
    expect(createTable(ROLLUP, cluster)).toEqual([
      `CREATE TABLE IF NOT EXISTS costtrace.rollup_15m_local ON CLUSTER prod (
  customer_id String,
  slot DateTime64(6, 'UTC'),
  revenue Decimal(38, 12),
  costs Decimal(38, 12),
  records Int64
) ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/rollup_15m_local', '{replica}', (revenue, costs, records))
PARTITION BY toYYYYMM(slot)
ORDER BY (customer_id, slot)`,
      `CREATE TABLE IF NOT EXISTS costtrace.rollup_15m ON CLUSTER prod AS costtrace.rollup_15m_local
ENGINE = Distributed(prod, costtrace, rollup_15m_local, cityHash64(customer_id))`,
    ]);
    // The schema version: the same rows on every node (one replica set across the cluster), read locally.
    const [schema, ...rest] = createTable(SCHEMA_TABLE, cluster);
    expect(rest).toEqual([]);
    expect(schema).toContain("ReplicatedMergeTree('/clickhouse/tables/all/{database}/costtrace_schema', '{replica}')");
    expect(createDatabase(cluster)).toBe('CREATE DATABASE IF NOT EXISTS costtrace ON CLUSTER prod');
    expect(addColumn(ROLLUP, 'note String', cluster)).toEqual([
      'ALTER TABLE costtrace.rollup_15m_local ON CLUSTER prod ADD COLUMN IF NOT EXISTS note String',
      'ALTER TABLE costtrace.rollup_15m ON CLUSTER prod ADD COLUMN IF NOT EXISTS note String',
    ]);
  });

  it('puts every statement of every migration ON CLUSTER, and every sharded table behind a Distributed one', () => {
    const statements = CLICKHOUSE_MIGRATIONS.flatMap((m) => m.statements(cluster));
    for (const s of statements) {
      expect(s).toMatch(/^CREATE (TABLE|MATERIALIZED VIEW) IF NOT EXISTS costtrace\.\w+ ON CLUSTER prod /);
    }
    // The rollup's view reads each shard's local records and writes through the Distributed rollup.
    expect(statements.at(-1)).toMatch(
      /TO costtrace\.rollup_15m AS\n[\s\S]*FROM costtrace\.records_local WHERE row_version = 1/,
    );
    const locals = statements.filter((s) => / ENGINE = Replicated/.test(s)).map((s) => /costtrace\.(\w+)/.exec(s)?.[1]);
    const distributed = statements
      .filter((s) => /ENGINE = Distributed/.test(s))
      .map((s) => /Distributed\(prod, costtrace, (\w+), /.exec(s)?.[1]);
    expect(locals).toEqual(['records_local', 'rollup_15m_local', 'customers_local']);
    expect(distributed).toEqual(locals);
  });

  it('refuses a database or cluster name that is not an identifier (they are written into DDL)', () => {
    expect(() => identifier('database', 'cost; DROP')).toThrow(/letters, digits and _/);
    expect(() => createTable(ROLLUP, { database: 'ok', cluster: 'a-b' })).toThrow(/cluster must be/);
    expect(identifier('database', 'costtrace_2')).toBe('costtrace_2');
  });
});
