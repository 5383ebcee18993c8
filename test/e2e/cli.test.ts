import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnCollector } from '../helpers/child-collector.ts';
import { COSTTRACE_CLI } from '../helpers/cli.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('costtrace serve', () => {
  it('prints its URL, serves /healthz and /readyz, and exits 0 on SIGINT after closing the store', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'costtrace-cli-'));
    dirs.push(dir);
    const db = join(dir, 'cli.duckdb');
    const server = await spawnCollector([], { COSTTRACE_PORT: '0', COSTTRACE_DB: db });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${server.url}/readyz`)).json()).toEqual({ status: 'ready' });
    server.child.kill('SIGINT');
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toContain('SIGINT received, draining and closing the store');
    expect((await stat(db)).size).toBeGreaterThan(0);
  });

  it('refuses to bind a non-loopback address without tokens, with a clear error and exit code 2', () => {
    const r = spawnSync(process.execPath, [...COSTTRACE_CLI, 'serve', '--host', '0.0.0.0', '--port', '0'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('refusing to listen on 0.0.0.0 without authentication');
  });

  it('refuses to start on a file it cannot upgrade or that is not ours, saying why, with exit code 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'costtrace-cli-'));
    dirs.push(dir);
    const foreign = join(dir, 'foreign.duckdb');
    const instance = await DuckDBInstance.create(foreign);
    const conn = await instance.connect();
    await conn.run('CREATE TABLE orders (id INTEGER)');
    conn.closeSync();
    instance.closeSync();
    const r = spawnSync(process.execPath, [...COSTTRACE_CLI, 'serve', '--port', '0', '--db', foreign], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`costtrace: ${foreign} is a DuckDB file but not a costtrace database`);
  });

  it('explains an unknown command', () => {
    const r = spawnSync(process.execPath, [...COSTTRACE_CLI, 'frobnicate'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
  });
});
