/**
 * `costtrace export` (child process, as ops run it): Parquet read back with DuckDB has the same totals as the
 * API, money as DECIMAL(38,12), records partitioned by UTC day; a date window exports only its days; a database
 * held by a running server is refused with a message pointing at snapshots; a non-empty output folder is refused.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnCollector } from '../helpers/child-collector.ts';
import { COSTTRACE_CLI } from '../helpers/cli.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/schema-v3/costtrace.duckdb', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'costtrace-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const costtrace = (...args: string[]) => spawnSync(process.execPath, [...COSTTRACE_CLI, ...args], { encoding: 'utf8' });

async function query(sql: string): Promise<unknown[][]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    return (await conn.runAndReadAll(sql)).getRows();
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

describe('costtrace export', () => {
  const db = join(dir, 'data.duckdb');
  copyFileSync(FIXTURE, db);

  it('writes Parquet whose totals equal the store, money exact, records by UTC day', async () => {
    const out = join(dir, 'all');
    const r = costtrace('export', '--db', db, '--out', out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/exported 98 records/);
    const days = readdirSync(join(out, 'records')).sort();
    expect(days[0]).toBe('day=2025-12-01');
    expect(days.every((d) => /^day=\d{4}-\d{2}-\d{2}$/.test(d))).toBe(true);
    const records = `read_parquet('${out}/records/*/*.parquet', hive_partitioning = true)`;
    const exported = await query(
      `SELECT sum(cost_amount)::VARCHAR, sum(revenue_amount)::VARCHAR, count(*), typeof(any_value(cost_amount)),
         bool_and(strftime(ts, '%Y-%m-%d') = day::VARCHAR) FROM ${records}`,
    );
    const stored = await query(
      `ATTACH '${db}' AS src (READ_ONLY); SELECT sum(cost_amount)::VARCHAR, sum(revenue_amount)::VARCHAR, count(*),
         typeof(any_value(cost_amount)), true FROM src.records`,
    );
    expect(exported).toEqual(stored);
    expect(exported[0]?.[3]).toBe('DECIMAL(38,12)');
    const traces = await query(
      `SELECT count(*), sum(total_cost)::VARCHAR FROM read_parquet('${out}/traces/traces.parquet')`,
    );
    const spanCost = await query(
      `ATTACH '${db}' AS src (READ_ONLY);
       SELECT count(DISTINCT trace_id), sum(cost_amount)::VARCHAR FROM src.records WHERE source = 'span'`,
    );
    expect(traces).toEqual(spanCost);
    const customers = await query(`SELECT count(*) FROM read_parquet('${out}/customers/customers.parquet')`);
    expect(customers).toEqual([[4n]]);
    const rollup = await query(`SELECT sum(costs)::VARCHAR FROM read_parquet('${out}/rollups/rollup_15m.parquet')`);
    expect(rollup).toEqual([[stored[0]?.[0]]]);
  });

  it('exports only the days of a window', async () => {
    const out = join(dir, 'window');
    const r = costtrace('export', '--db', db, '--out', out, '--start-date', '2025-12-05', '--end-date', '2025-12-06');
    expect(r.status).toBe(0);
    expect(readdirSync(join(out, 'records')).sort()).toEqual(['day=2025-12-05', 'day=2025-12-06']);
  });

  it('refuses a database held by a running server, pointing at snapshots', async () => {
    const held = join(dir, 'held.duckdb');
    copyFileSync(FIXTURE, held);
    const server = await spawnCollector([], { COSTTRACE_PORT: '0', COSTTRACE_DB: held });
    try {
      const r = costtrace('export', '--db', held, '--out', join(dir, 'held-out'));
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('is in use by a running costtrace');
      expect(r.stderr).toContain('POST /v1/admin/snapshot');
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  it('refuses a non-empty output folder and bad usage', () => {
    const out = join(dir, 'busy');
    mkdirSync(out);
    writeFileSync(join(out, 'keep.txt'), 'x');
    const r = costtrace('export', '--db', db, '--out', out);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('exists and is not empty');
    expect(costtrace('export', '--db', db).status).toBe(2);
    expect(costtrace('export', '--db', db, '--out', join(dir, 'x'), '--start-date', '2024-02-30').stderr).toContain(
      '--start-date "2024-02-30" is not a valid date',
    );
  });
});
