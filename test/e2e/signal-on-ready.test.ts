/**
 * `costtrace listening on …` means the signal handlers are in place: a SIGTERM sent the instant the line is read
 * drains and closes the store (exit 0, no write-ahead log left). Printed before the handlers, the default handler
 * killed the process in about 1 of 3 such starts on the 2-core machine, leaving the WAL the snapshot tests trip on.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { spawnCollector } from '../helpers/child-collector.ts';

const dir = mkdtempSync(join(tmpdir(), 'costtrace-ready-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('closes the store cleanly on a SIGTERM sent the moment it says it listens, every time', async () => {
  const outcomes: string[] = [];
  for (let i = 0; i < 8; i++) {
    const db = join(dir, `run-${i}.duckdb`);
    const server = await spawnCollector([], { COSTTRACE_PORT: '0', COSTTRACE_DB: db });
    server.child.kill('SIGTERM');
    const code = await server.exited;
    outcomes.push(`exit ${code} signal ${server.child.signalCode} wal ${existsSync(`${db}.wal`)}`);
  }
  expect(outcomes).toEqual(Array.from({ length: 8 }, () => 'exit 0 signal null wal false'));
}, 120_000);
