/**
 * Where `POST /v1/admin/snapshot` may write (docs/contract.md §12 v3), against real `costtrace serve` processes:
 * - never the live database's own files — after a clean restart (no WAL yet) a snapshot at `<db>.wal` is refused,
 *   and an event answered "inserted" afterwards survives `kill -9`; every spelling of those files (symlinked
 *   folder, `..`, the `.tmp` spill folder, the `.partial`s) is refused and nothing is created;
 * - never deletes a file it did not create (`X.partial`, `X.partial.wal` kept byte for byte);
 * - five concurrent snapshots to one path: one whole copy (one 200, four 409), no temporaries left;
 * - `COSTTRACE_SNAPSHOT_DIR` confines paths (relative ones are taken from it; `..` and symlinks cannot escape);
 * - error bodies carry no engine text, no paths, no process id.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../collector/db/database.ts';
import { type ChildCollector, spawnCollector } from '../helpers/child-collector.ts';

const dir = mkdtempSync(join(tmpdir(), 'costtrace-snapshot-hardening-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Answer {
  readonly status: number;
  readonly text: string;
}

async function snapshot(server: ChildCollector, path: string): Promise<Answer> {
  const res = await fetch(`${server.url}/v1/admin/snapshot`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path }),
  });
  return { status: res.status, text: await res.text() };
}

/** An error body names no path, no process id and no engine text. */
function expectCleanError(answer: Answer, server: ChildCollector): void {
  expect(answer.text).not.toContain(dir);
  expect(answer.text).not.toContain(tmpdir());
  expect(answer.text).not.toMatch(new RegExp(`\\b${server.child.pid}\\b`));
  expect(answer.text).not.toMatch(/IO Error|Binder Error|Catalog Error|Permission Error|snapshot_\d|duckdb/i);
}

async function stop(server: ChildCollector, signal: NodeJS.Signals): Promise<void> {
  server.child.kill(signal);
  await server.exited;
}

describe("snapshots never touch the live database's files", () => {
  const data = join(dir, 'live');
  const db = join(data, 'costtrace.duckdb');
  let server: ChildCollector;
  beforeAll(async () => {
    mkdirSync(data);
    symlinkSync(data, join(dir, 'link-to-live'));
    // A clean stop leaves no WAL: the state in which `<db>.wal` passed the old exists-check.
    await stop(await spawnCollector([], { COSTTRACE_PORT: '0', COSTTRACE_DB: db }), 'SIGTERM');
    expect(existsSync(`${db}.wal`)).toBe(false);
    server = await spawnCollector([], { COSTTRACE_PORT: '0', COSTTRACE_DB: db });
  });
  afterAll(async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) await stop(server, 'SIGKILL');
  });

  it.each([
    ['its write-ahead log', () => `${db}.wal`],
    ['the log through a symlinked folder', () => join(dir, 'link-to-live', 'costtrace.duckdb.wal')],
    ['the log spelled with ..', () => join(data, '..', 'live', '.', 'costtrace.duckdb.wal')],
    ['its spill folder', () => `${db}.tmp`],
    ['its .partial', () => `${db}.partial`],
    ["its log's .partial", () => `${db}.wal.partial`],
    ["its .partial's log", () => `${db}.partial.wal`],
  ])('refuses %s with 422, creating nothing', async (_name, path) => {
    const before = readdirSync(data).sort();
    const answer = await snapshot(server, path());
    expect(answer.status).toBe(422);
    expect(JSON.parse(answer.text)).toMatchObject({
      error: 'validation_error',
      detail: [{ loc: ['body', 'path'], msg: expect.stringContaining("live database's own files") }],
    });
    expectCleanError(answer, server);
    // The live database may have written its own WAL meanwhile; nothing else appears.
    expect(readdirSync(data).filter((f) => !before.includes(f) && f !== 'costtrace.duckdb.wal')).toEqual([]);
  });

  it('refuses the database file itself (409, it exists)', async () => {
    const answer = await snapshot(server, db);
    expect(answer.status).toBe(409);
    expectCleanError(answer, server);
  });

  it('keeps an acknowledged event across kill -9 after a snapshot at the WAL path was tried', async () => {
    const res = await fetch(`${server.url}/v1/events/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ name: 'kept', external_customer_id: 'acme', external_id: 'ev-kept' }] }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ inserted: 1, duplicates: 0 });
    await stop(server, 'SIGKILL');
    const reopened = await openDatabase(db, '256MB');
    try {
      const rows = await reopened.read(async (conn) =>
        (await conn.runAndReadAll(`SELECT name FROM records WHERE source = 'event'`)).getRows(),
      );
      expect(rows).toEqual([['kept']]);
    } finally {
      await reopened.close();
    }
  });
});

describe('snapshots in COSTTRACE_SNAPSHOT_DIR', () => {
  const snaps = join(dir, 'snaps');
  const outside = join(dir, 'outside');
  let server: ChildCollector;
  beforeAll(async () => {
    mkdirSync(snaps);
    mkdirSync(outside);
    symlinkSync(outside, join(snaps, 'escape'));
    server = await spawnCollector([], {
      COSTTRACE_PORT: '0',
      COSTTRACE_DB: join(dir, 'confined.duckdb'),
      COSTTRACE_SNAPSHOT_DIR: snaps,
    });
  });
  afterAll(async () => stop(server, 'SIGTERM'));

  it('writes a relative path inside the folder', async () => {
    const answer = await snapshot(server, 'relative.duckdb');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ path: join(snaps, 'relative.duckdb'), bytes: expect.any(Number) });
    expect(existsSync(join(snaps, 'relative.duckdb'))).toBe(true);
  });

  it.each([
    ['an absolute path outside', () => join(outside, 'a.duckdb')],
    ['a .. escape', () => join(snaps, '..', 'outside', 'b.duckdb')],
    ['a relative .. escape', () => '../outside/c.duckdb'],
    ['a symlink escape', () => join(snaps, 'escape', 'd.duckdb')],
    ['a relative symlink escape', () => 'escape/e.duckdb'],
  ])('refuses %s with 422, writing nothing', async (_name, path) => {
    const answer = await snapshot(server, path());
    expect(answer.status).toBe(422);
    expect(answer.text).toContain('outside the snapshot folder (COSTTRACE_SNAPSHOT_DIR)');
    expectCleanError(answer, server);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('never deletes a file it did not create: X.partial and X.partial.wal are kept', async () => {
    const target = join(snaps, 'kept.duckdb');
    writeFileSync(`${target}.partial`, 'not yours');
    writeFileSync(`${target}.partial.wal`, 'not yours either');
    const answer = await snapshot(server, target);
    expect(answer.status).toBe(200);
    expect(readFileSync(`${target}.partial`, 'utf8')).toBe('not yours');
    expect(readFileSync(`${target}.partial.wal`, 'utf8')).toBe('not yours either');
    const copy = await openDatabase(target, '256MB');
    await copy.close();
  });

  it('leaves one whole copy when five snapshots race for one path (one 200, four 409)', async () => {
    const target = join(snaps, 'raced.duckdb');
    const answers = await Promise.all(Array.from({ length: 5 }, () => snapshot(server, target)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409, 409, 409]);
    for (const answer of answers.filter((a) => a.status === 409)) {
      expect(JSON.parse(answer.text).message).toBe('the path already exists; snapshots never overwrite a file');
      expectCleanError(answer, server);
    }
    expect(readdirSync(snaps).filter((f) => f.startsWith('raced.duckdb'))).toEqual(['raced.duckdb']);
    const copy = await openDatabase(target, '256MB');
    try {
      const tables = await copy.read(async (conn) =>
        (
          await conn.runAndReadAll(`SELECT count(*) FROM information_schema.tables WHERE table_name = 'records'`)
        ).getRows(),
      );
      expect(tables).toEqual([[1n]]);
    } finally {
      await copy.close();
    }
  });

  it('answers a missing folder without naming it', async () => {
    const answer = await snapshot(server, join(snaps, 'no', 'such', 'x.duckdb'));
    expect(answer.status).toBe(422);
    expect(answer.text).toContain('the folder of the path does not exist');
    expectCleanError(answer, server);
  });
});
