/**
 * `clickhouse:dev` speaks ClickHouse's HTTP interface as the official `@clickhouse/client` uses it, in front of the
 * real engine (chdb): exact Decimal(38,12) money as strings both ways, server-side query parameters, insert
 * deduplication tokens, the server's error codes, settings and databases confined to their own request, several
 * clients at once, compressed bodies, and data kept across a restart and a kill -9.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClickHouseClient, ClickHouseError, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClickHouseDevProcess, startClickHouseDevProcess } from '../../examples/support/clickhouse/start.ts';

let dir: string;
let dev: ClickHouseDevProcess;
const clients: ClickHouseClient[] = [];
const client = (opts: Parameters<typeof createClient>[0] = {}) => {
  // The client logs every refused query; the refusals are what several tests ask for.
  const c = createClient({ url: dev.url, log: { level: ClickHouseLogLevel.OFF }, ...opts });
  clients.push(c);
  return c;
};
const rowsOf = async <T>(c: ClickHouseClient, query: string, query_params?: Record<string, unknown>) =>
  (await (
    await c.query({
      query,
      format: 'JSONEachRow',
      ...(query_params ? { query_params } : {}),
      clickhouse_settings: { output_format_json_quote_decimals: 1, output_format_json_quote_64bit_integers: 1 },
    })
  ).json()) as T[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'costtrace-chdev-'));
  dev = await startClickHouseDevProcess(join(dir, 'data'), ['--password', 'secret']);
}, 240_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await dev?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('clickhouse:dev behind @clickhouse/client', () => {
  it('answers ping and a modern server version, and refuses a wrong password with code 516', async () => {
    const c = client({ password: 'secret' });
    expect((await c.ping()).success).toBe(true);
    const [row] = await rowsOf<{ v: string }>(c, 'SELECT version() AS v');
    const [major, minor] = String(row?.v).split('.').map(Number) as [number, number];
    expect(major * 100 + minor).toBeGreaterThanOrEqual(2408);
    const bad = client({ password: 'nope' });
    const err = await bad.query({ query: 'SELECT 1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClickHouseError);
    expect((err as ClickHouseError).code).toBe('516');
    expect((err as ClickHouseError).type).toBe('AUTHENTICATION_FAILED');
  });

  it('stores and returns Decimal(38,12) money exactly, with typed query parameters', async () => {
    const c = client({ password: 'secret' });
    await c.command({
      query: `CREATE TABLE money (id String, at DateTime64(6, 'UTC'), cost Decimal(38, 12))
              ENGINE = MergeTree ORDER BY (id, at)`,
    });
    const values = [
      { id: 'a', at: '2025-01-01 00:00:00.000001', cost: '0.100000000001' },
      { id: 'a', at: '2025-01-01 00:00:00.000002', cost: '0.2' },
      { id: 'b', at: '2025-01-02 00:00:00.000000', cost: '12345678901234567890123456.000000000001' },
    ];
    await c.insert({ table: 'money', values, format: 'JSONEachRow' });
    const got = await rowsOf<{ id: string; total: string; n: string }>(
      c,
      `SELECT id, toString(sum(cost)) AS total, count() AS n FROM money
       WHERE at >= {from:DateTime64(6)} AND id IN {ids:Array(String)} GROUP BY id ORDER BY id`,
      { from: '2025-01-01 00:00:00.000001', ids: ['a', 'b', "it's"] },
    );
    expect(got).toEqual([
      { id: 'a', total: '0.300000000001', n: '2' },
      { id: 'b', total: '12345678901234567890123456.000000000001', n: '1' },
    ]);
  });

  it('drops a re-sent insert with the same deduplication token, and the token does not reach the next request', async () => {
    const c = client({ password: 'secret' });
    await c.command({
      query: `CREATE TABLE dedup (k String, v UInt32) ENGINE = MergeTree ORDER BY k
              SETTINGS non_replicated_deduplication_window = 1000`,
    });
    const values = [
      { k: 'x', v: 1 },
      { k: 'y', v: 2 },
    ];
    const token = { insert_deduplication_token: 'batch-1' };
    await c.insert({ table: 'dedup', values, format: 'JSONEachRow', clickhouse_settings: token });
    await c.insert({ table: 'dedup', values, format: 'JSONEachRow', clickhouse_settings: token });
    expect(await rowsOf<{ n: string }>(c, 'SELECT count() AS n FROM dedup')).toEqual([{ n: '2' }]);
    // Other data without a token, then the same data under a new token: both stored (nothing leaked from above).
    await c.insert({ table: 'dedup', values: [{ k: 'z', v: 3 }], format: 'JSONEachRow' });
    await c.insert({
      table: 'dedup',
      values,
      format: 'JSONEachRow',
      clickhouse_settings: { insert_deduplication_token: 'batch-2' },
    });
    expect(await rowsOf<{ n: string }>(c, 'SELECT count() AS n FROM dedup')).toEqual([{ n: '5' }]);
    const [s] = await rowsOf<{ t: string }>(c, "SELECT getSetting('insert_deduplication_token') AS t");
    expect(s?.t).toBe('');
  });

  it("answers the server's error codes: unknown table 60, syntax 62, a second statement refused", async () => {
    const c = client({ password: 'secret' });
    const codeOf = async (query: string) => {
      const e = await c.query({ query }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ClickHouseError);
      return [(e as ClickHouseError).code, (e as ClickHouseError).type];
    };
    expect(await codeOf('SELECT * FROM no_such_table')).toEqual(['60', 'UNKNOWN_TABLE']);
    expect(await codeOf('SELEC 1')).toEqual(['62', 'SYNTAX_ERROR']);
    const multi = await c
      .command({ query: 'CREATE TABLE two (a UInt8) ENGINE = Memory; DROP TABLE money' })
      .catch((x: unknown) => x);
    expect((multi as ClickHouseError).code).toBe('62');
    expect(
      await rowsOf<{ n: string }>(c, "SELECT count() AS n FROM system.tables WHERE name IN ('two', 'money')"),
    ).toEqual([{ n: '1' }]);
    // A raw GET cannot write (the server runs GET requests read-only).
    const res = await fetch(`${dev.url}/?query=${encodeURIComponent('DROP TABLE money')}&password=secret`);
    expect(res.status).toBe(403);
    expect(res.headers.get('x-clickhouse-exception-code')).toBe('164');
  });

  it('refuses what reaches outside or outlives a request, and a second statement wherever it hides', async () => {
    const c = client({ password: 'secret' });
    await c.command({ query: 'CREATE TABLE guarded (s String) ENGINE = MergeTree ORDER BY s' });
    const raw = (path: string, init: RequestInit = {}) =>
      fetch(`${dev.url}${path}${path.includes('?') ? '&' : '?'}password=secret`, init);
    const q = (sql: string) => encodeURIComponent(sql);
    const refusals: Array<[string, RequestInit, number, string]> = [
      [
        `/?query=${q('SELECT 1')}`,
        { method: 'POST', body: '; CREATE TABLE injected (a UInt8) ENGINE = Memory' },
        400,
        '62',
      ],
      ['/', { method: 'POST', body: "INSERT INTO guarded FORMAT Values ('v'); DROP TABLE guarded" }, 400, '62'],
      [`/?query=${q("SELECT * FROM file('/etc/passwd', 'LineAsString')")}`, {}, 403, '497'],
      [`/?query=${q("SELECT 'x' INTO OUTFILE '/tmp/costtrace-outfile'")}`, {}, 403, '497'],
      [
        '/',
        { method: 'POST', body: "INSERT INTO FUNCTION url('http://127.0.0.1:1/', 'CSV', 'a String') VALUES ('a')" },
        403,
        '497',
      ],
      ['/', { method: 'POST', body: 'CREATE TEMPORARY TABLE tmp (a UInt8)' }, 400, '1001'],
      [`/?query=${q('SELECT 1')}&query_id=${q('a\nb')}`, {}, 400, '36'],
    ];
    for (const [path, init, status, code] of refusals) {
      const res = await raw(path, init);
      expect({
        path,
        body: init.body,
        status: res.status,
        code: res.headers.get('x-clickhouse-exception-code'),
      }).toEqual({
        path,
        body: init.body,
        status,
        code,
      });
    }
    expect(
      await rowsOf<{ n: string }>(c, "SELECT count() AS n FROM system.tables WHERE name IN ('guarded', 'injected')"),
    ).toEqual([{ n: '1' }]);
    // A SET sent as the statement changes nothing after its request: an insert without a token right after is stored.
    const set = await raw('/', { method: 'POST', body: "SET insert_deduplication_token = 'leak'" });
    expect(set.status).toBe(200);
    await c.insert({ table: 'guarded', values: [{ s: 'a' }], format: 'JSONEachRow' });
    await c.insert({ table: 'guarded', values: [{ s: 'b' }], format: 'JSONEachRow' });
    expect(await rowsOf<{ n: string }>(c, 'SELECT count() AS n FROM guarded')).toEqual([{ n: '2' }]);
    // A request line that is not a URL is answered, and the endpoint keeps serving.
    const { request } = await import('node:http');
    const port = new URL(dev.url).port;
    const status = await new Promise<number>((resolve, reject) => {
      const r = request({ host: '127.0.0.1', port, path: '//[', method: 'GET' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      r.on('error', reject);
      r.end();
    });
    expect(status).toBeGreaterThanOrEqual(400);
    expect((await c.ping()).success).toBe(true);
  });

  it('keeps each client in its database and its settings to its own query, with requests from many clients at once', async () => {
    const admin = client({ password: 'secret' });
    await admin.command({ query: 'CREATE DATABASE IF NOT EXISTS costtrace_dev' });
    const inDb = client({ password: 'secret', database: 'costtrace_dev' });
    await inDb.command({ query: 'CREATE TABLE hits (c String, n UInt32) ENGINE = MergeTree ORDER BY c' });
    const others = [1, 2, 3].map(() => client({ password: 'secret', database: 'costtrace_dev' }));
    await Promise.all(
      others.flatMap((c, i) =>
        Array.from({ length: 15 }, (_, j) =>
          c.insert({ table: 'hits', values: [{ c: `c${i}`, n: j }], format: 'JSONEachRow' }),
        ),
      ),
    );
    // Interleaved with those: queries of the default database, with settings of their own.
    const [d] = await rowsOf<{ d: string; m: string }>(
      admin,
      "SELECT currentDatabase() AS d, getSetting('max_threads') AS m",
    );
    expect(d?.d).toBe('default');
    const limited = await admin.query({
      query: "SELECT getSetting('max_threads') AS m",
      format: 'JSONEachRow',
      clickhouse_settings: { max_threads: 1 },
    });
    expect(await limited.json()).toEqual([{ m: 1 }]);
    const [after] = await rowsOf<{ m: string }>(admin, "SELECT getSetting('max_threads') AS m");
    expect(after?.m).toBe(d?.m);
    expect(
      await rowsOf<{ c: string; n: string }>(inDb, 'SELECT c, count() AS n FROM hits GROUP BY c ORDER BY c'),
    ).toEqual([
      { c: 'c0', n: '15' },
      { c: 'c1', n: '15' },
      { c: 'c2', n: '15' },
    ]);
  });

  it('reads gzip-compressed inserts and answers compressed when asked', async () => {
    const c = client({ password: 'secret', compression: { request: true, response: true } });
    await c.command({ query: 'CREATE TABLE packed (i UInt32, s String) ENGINE = MergeTree ORDER BY i' });
    const values = Array.from({ length: 5000 }, (_, i) => ({ i, s: `row ${i} ${'x'.repeat(i % 50)}` }));
    await c.insert({ table: 'packed', values, format: 'JSONEachRow' });
    expect(await rowsOf<{ n: string; s: string }>(c, 'SELECT count() AS n, toString(sum(i)) AS s FROM packed')).toEqual(
      [{ n: '5000', s: String((4999 * 5000) / 2) }],
    );
  });

  it('keeps its data across a clean restart and a kill -9', async () => {
    const c = client({ password: 'secret' });
    await c.command({ query: 'CREATE TABLE kept (i UInt32) ENGINE = MergeTree ORDER BY i' });
    await c.insert({ table: 'kept', values: [{ i: 1 }, { i: 2 }], format: 'JSONEachRow' });
    await dev.stop();
    dev = await startClickHouseDevProcess(join(dir, 'data'), ['--password', 'secret']);
    const c2 = client({ password: 'secret' });
    await c2.insert({ table: 'kept', values: [{ i: 3 }], format: 'JSONEachRow' });
    await dev.kill();
    dev = await startClickHouseDevProcess(join(dir, 'data'), ['--password', 'secret']);
    const c3 = client({ password: 'secret' });
    expect(await rowsOf<{ n: string }>(c3, 'SELECT count() AS n FROM kept')).toEqual([{ n: '3' }]);
    expect(await rowsOf<{ t: string }>(c3, 'SELECT toString(sum(cost)) AS t FROM money')).toEqual([
      { t: '12345678901234567890123456.300000000002' },
    ]);
  }, 120_000);
});
