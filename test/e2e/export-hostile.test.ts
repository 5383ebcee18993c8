/**
 * `costtrace export` given hostile paths and files (docs/contract.md §12 v3), as ops run it (child process):
 * - `--out` on /proc, /sys or /dev, or an existing FIFO, device or file, is refused at once (exit 1, a clear
 *   message) — `--out /proc/self/x` used to spin forever; `--db` must be a regular file (not /dev/zero, not a FIFO);
 * - a crafted `.duckdb` whose `records` is a VIEW over `read_text()`, or that defines a macro shadowing a built-in,
 *   is refused before anything runs: no local file reaches the export.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../collector/db/database.ts';
import { COSTTRACE_CLI } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'costtrace-export-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Generous: a refusal is immediate; the old code never returned for /proc. */
const EXPORT_TIMEOUT_MS = 30_000;

const costtrace = (...args: string[]) =>
  spawnSync(process.execPath, [...COSTTRACE_CLI, ...args], { encoding: 'utf8', timeout: EXPORT_TIMEOUT_MS });

const db = join(dir, 'good.duckdb');
const fifo = join(dir, 'fifo');
const SECRET = `TOP-SECRET-${process.pid}-${Date.now()}`;
const secretFile = join(dir, 'secret.txt');

/** A current costtrace database, then changed by `sql` (a crafted file). */
async function crafted(name: string, sql: string): Promise<string> {
  const path = join(dir, name);
  await (await openDatabase(path, '256MB')).close();
  const instance = await DuckDBInstance.create(path);
  const conn = await instance.connect();
  try {
    await conn.run(sql);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
  return path;
}

/** Every file under `root`, read whole. */
function contents(root: string): string {
  if (!existsSync(root)) return '';
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .map((f) => join(root, f))
    .filter((f) => statSync(f).isFile())
    .map((f) => readFileSync(f, 'latin1'))
    .join('\n');
}

beforeAll(async () => {
  await (await openDatabase(db, '256MB')).close();
  expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
  writeFileSync(secretFile, SECRET);
  mkdirSync(join(dir, 'a-file-parent'));
  writeFileSync(join(dir, 'a-file-parent', 'file'), 'x');
});

describe('costtrace export refuses special places', () => {
  it.each([
    ['/proc/self/x', 'is on a system file system'],
    ['/proc/self/x/y/z', 'is on a system file system'],
    ['/sys/kernel/costtrace', 'is on a system file system'],
    ['/dev/shm/costtrace-export', 'is on a system file system'],
    ['/dev/null', 'is on a system file system'],
    [fifo, 'exists and is not a folder'],
    [join(dir, 'a-file-parent', 'file'), 'exists and is not a folder'],
    [join(dir, 'a-file-parent', 'file', 'sub'), 'is not a folder'],
  ])('--out %s: exit 1, "%s"', (out, message) => {
    const r = costtrace('export', '--db', db, '--out', out);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
    expect(existsSync('/dev/shm/costtrace-export')).toBe(false);
  });

  it.each([
    ['/dev/zero', 'is not a regular file'],
    [fifo, 'is not a regular file'],
    ['/proc/self/environ', 'is not a regular file'],
    [dir, 'is not a regular file'],
  ])('--db %s: exit 1, "%s"', (file, message) => {
    const r = costtrace('export', '--db', file, '--out', join(dir, 'never'));
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('still exports a good file into a new nested folder', () => {
    const out = join(dir, 'nested', 'deeper', 'out');
    const r = costtrace('export', '--db', db, '--out', out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['customers', 'records', 'rollups', 'traces']);
  });
});

describe('costtrace export reads only costtrace tables', () => {
  it.each([
    [
      'records as a view over read_text()',
      () =>
        `ALTER TABLE records RENAME TO records_base;
         CREATE VIEW records AS SELECT b.*, s.content AS leaked
           FROM records_base b RIGHT JOIN read_text('${secretFile}') s ON true`,
    ],
    [
      'trace_roots as a view over read_text()',
      () =>
        `DROP TABLE trace_roots;
         CREATE VIEW trace_roots AS SELECT content AS trace_id, content AS root_name, 0::BIGINT AS root_start_ns
           FROM read_text('${secretFile}')`,
    ],
    ['a macro shadowing strftime', () => `CREATE MACRO strftime(a, b) AS 'shadowed'`],
  ])('refuses a file with %s, exporting nothing of it', async (name, sql) => {
    const file = await crafted(`${name.replace(/\W+/g, '-')}.duckdb`, sql());
    const out = join(dir, `out-${name.replace(/\W+/g, '-')}`);
    const r = costtrace('export', '--db', file, '--out', out);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('is not a costtrace database: it holds views or macros');
    expect(contents(out)).not.toContain(SECRET);
    expect(contents(out)).not.toContain('shadowed');
  });
});
