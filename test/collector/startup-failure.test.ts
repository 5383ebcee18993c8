/**
 * A start-up that fails part-way closes what it opened, in reverse order, before the error reaches the caller
 * (collector/collector.ts): the decode workers are terminated, the ingest queue closed, the DuckDB file released
 * (another process can open it: DuckDB's file lock is gone) and no timer is left keeping the process alive.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openCollector } from '../../collector/collector.ts';
import { PriceBookFileError } from '../../collector/features/prices/service.ts';
import { DecodePool } from '../../collector/receiver/decode-pool.ts';
import { IngestQueue } from '../../collector/writer/ingest-queue.ts';

const run = promisify(execFile);

/** Opens the file read-write in another process: fails while this process still holds DuckDB's lock on it. */
async function openableElsewhere(dbPath: string): Promise<string> {
  const script = `import { DuckDBInstance } from '@duckdb/node-api';
    const i = await DuckDBInstance.create(process.argv[1]);
    const c = await i.connect();
    await c.run('SELECT 1');
    c.closeSync();
    i.closeSync();
    console.log('opened');`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, dbPath], {
    cwd: process.cwd(),
    timeout: 30_000,
  });
  return stdout.trim();
}

/** Ref'd timers: what would keep the process (or this vitest worker) from exiting. */
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'costtrace-startup-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

const base = (dbPath: string) => ({
  dbPath,
  maxBodyBytes: 1024 * 1024,
  ingestTokens: [],
  readTokens: [],
  decodeWorkers: 2,
  logLevel: 'silent',
});

describe('a start-up that fails part-way', () => {
  it('after the HTTP app was built (the clock fails while loading meters): closes app, decoders, queue and DuckDB', async () => {
    const dbPath = join(dir, 'clock.duckdb');
    const decoderClosed = vi.spyOn(DecodePool.prototype, 'close');
    const queueClosed = vi.spyOn(IngestQueue.prototype, 'close');
    const before = timers();
    await expect(
      openCollector({
        ...base(dbPath),
        billing: { polarToken: 'polar_oat_test', polarApiUrl: 'http://127.0.0.1:9' },
        retainSpansDays: 7,
        nowMicros: () => {
          throw new Error('the clock is broken');
        },
      }),
    ).rejects.toThrow('the clock is broken');
    expect(decoderClosed).toHaveBeenCalledTimes(1);
    expect(queueClosed).toHaveBeenCalledTimes(1);
    // Reverse order of opening (queue, then decoders): decoders first.
    expect(decoderClosed.mock.invocationCallOrder[0]).toBeLessThan(queueClosed.mock.invocationCallOrder[0] as number);
    expect(timers()).toBeLessThanOrEqual(before);
    expect(await openableElsewhere(dbPath)).toBe('opened');
  });

  it('with a bad price-book file: refused, and decoders, queue and DuckDB are closed', async () => {
    const dbPath = join(dir, 'book.duckdb');
    const book = join(dir, 'prices.json');
    await writeFile(book, '{"version": 1, "models": [');
    const decoderClosed = vi.spyOn(DecodePool.prototype, 'close');
    const queueClosed = vi.spyOn(IngestQueue.prototype, 'close');
    const before = timers();
    await expect(openCollector({ ...base(dbPath), pricesFile: book })).rejects.toBeInstanceOf(PriceBookFileError);
    expect(decoderClosed).toHaveBeenCalledTimes(1);
    expect(queueClosed).toHaveBeenCalledTimes(1);
    expect(timers()).toBeLessThanOrEqual(before);
    expect(await openableElsewhere(dbPath)).toBe('opened');
  });

  it('with an unreadable database file: refused, nothing left open', async () => {
    const dbPath = join(dir, 'garbage.duckdb');
    await writeFile(dbPath, 'this is not a DuckDB file'.repeat(1000));
    const decoderClosed = vi.spyOn(DecodePool.prototype, 'close');
    const before = timers();
    await expect(openCollector(base(dbPath))).rejects.toThrow();
    expect(decoderClosed).not.toHaveBeenCalled(); // never opened
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('a collector that started closes twice safely; its jobs then run nothing', async () => {
    const c = await openCollector({ ...base(join(dir, 'ok.duckdb')), retainSpansDays: 7 });
    const first = c.close();
    expect(c.close()).toBe(first);
    await first;
    expect(await c.runRetention()).toBe(0);
    expect(await c.runAllocation()).toMatchObject({ days: 0, changed: 0 });
    expect(await c.indexInsights()).toEqual({ days: 0, months: 0 });
    expect(await openableElsewhere(join(dir, 'ok.duckdb'))).toBe('opened');
  });
});
