/**
 * DNS rebinding (docs/contract.md §12 v3): while a scope is open (no tokens — the default, loopback-only mode) every
 * request must name a loopback Host (localhost, 127.0.0.0/8, [::1], any port), else 403 with a clear message — on
 * every kind of route: reads, OTLP and event ingest, the admin snapshot, the dashboard, the docs, unknown paths.
 * With ingest and read tokens Host is not checked unless COSTTRACE_ALLOWED_HOSTS lists names (then those and
 * loopback are served); the list needs tokens (a configuration error otherwise).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseServeConfig } from '../../collector/config.ts';
import { spawnCollector } from '../helpers/child-collector.ts';
import { startTestCollector, type TestCollector } from '../helpers/collector.ts';
import { decodeProtoStatus, jsonRequest } from '../helpers/otlp.ts';

interface Raw {
  readonly status: number;
  readonly type: string;
  readonly body: Buffer;
}

/** node:http, because fetch may not set Host. */
function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Uint8Array,
): Promise<Raw> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers['content-type']),
          body: Buffer.concat(chunks),
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

const REFUSED = expect.stringContaining('this Host is not served');
const snapDir = mkdtempSync(join(tmpdir(), 'costtrace-host-check-'));
const dbDir = mkdtempSync(join(tmpdir(), 'costtrace-host-check-db-'));
afterAll(() => {
  rmSync(snapDir, { recursive: true, force: true });
  rmSync(dbDir, { recursive: true, force: true });
});

interface Route {
  readonly kind: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}
const JSON_TYPE = { 'content-type': 'application/json' };
const ROUTES: readonly Route[] = [
  { kind: 'read', method: 'GET', path: '/v1/traces', headers: {} },
  {
    kind: 'metrics read',
    method: 'GET',
    path: '/v1/metrics?start_date=2025-01-01&end_date=2025-01-02&interval=day',
    headers: {},
  },
  { kind: 'OTLP ingest (JSON)', method: 'POST', path: '/v1/traces', headers: JSON_TYPE, body: '{}' },
  {
    kind: 'event ingest',
    method: 'POST',
    path: '/v1/events/ingest',
    headers: JSON_TYPE,
    body: JSON.stringify({ events: [{ name: 'x', external_customer_id: 'c' }] }),
  },
  {
    kind: 'admin snapshot',
    method: 'POST',
    path: '/v1/admin/snapshot',
    headers: JSON_TYPE,
    body: JSON.stringify({ path: join(snapDir, 'rebound.duckdb') }),
  },
  { kind: 'dashboard page', method: 'GET', path: '/', headers: {} },
  { kind: 'dashboard script', method: 'GET', path: '/app.js', headers: {} },
  { kind: 'docs page', method: 'GET', path: '/docs/', headers: {} },
  { kind: 'OpenAPI document', method: 'GET', path: '/openapi.json', headers: {} },
  { kind: 'Prometheus metrics', method: 'GET', path: '/metrics', headers: {} },
  { kind: 'health', method: 'GET', path: '/healthz', headers: {} },
  { kind: 'an unknown path', method: 'GET', path: '/nope', headers: {} },
];

describe('no tokens: only loopback Hosts', () => {
  let c: TestCollector;
  beforeAll(async () => {
    c = await startTestCollector();
  });
  afterAll(async () => c.close());

  it.each(ROUTES)('refuses $kind with Host: attacker.example (403)', async ({ method, path, headers, body }) => {
    const res = await send(c.url, method, path, { ...headers, host: 'attacker.example' }, body);
    expect(res.status).toBe(403);
    // OTLP answers errors as google.rpc.Status (here in JSON, the request's encoding): PERMISSION_DENIED.
    const otlp = path === '/v1/traces' && method === 'POST';
    expect(JSON.parse(res.body.toString())).toEqual(
      otlp ? { code: 7, message: REFUSED } : { error: 'forbidden', message: REFUSED },
    );
  });

  it('wrote no snapshot and stored no record for the refused requests', async () => {
    expect(readdirSync(snapDir)).toEqual([]);
    const n = await c.collector.db.read(async (conn) =>
      (await conn.runAndReadAll('SELECT count(*) FROM records')).getRows(),
    );
    expect(n).toEqual([[0n]]);
  });

  it('answers a refused protobuf export with a protobuf Status (PERMISSION_DENIED)', async () => {
    const res = await send(
      c.url,
      'POST',
      '/v1/traces',
      { 'content-type': 'application/x-protobuf', host: 'attacker.example:4318' },
      new Uint8Array(),
    );
    expect(res.status).toBe(403);
    expect(decodeProtoStatus(res.body)).toEqual({ code: 7, message: REFUSED });
  });

  it.each([
    'attacker.example:4318',
    'localhost.attacker.example',
    'localhost.',
    '127.0.0.1.nip.io',
    '0x7f.0.0.1',
    '2130706433',
    '10.0.0.1',
    '[::2]',
    '[::1',
    'localhost:port',
    '',
  ])('refuses Host %j', async (host) => {
    const res = await send(c.url, 'GET', '/v1/traces', { host });
    expect(res.status).toBe(403);
  });

  it.each([
    'localhost',
    'LocalHost:4318',
    '127.0.0.1',
    '127.0.0.1:4318',
    '127.255.10.1:80',
    '[::1]',
    '[::1]:4318',
    '[::ffff:127.0.0.1]:4318',
  ])('serves Host %j', async (host) => {
    const res = await send(c.url, 'GET', '/v1/traces', { host });
    expect(res.status).toBe(200);
  });

  it('serves the usual client: fetch to 127.0.0.1 ingests', async () => {
    const res = await fetch(`${c.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        jsonRequest([
          {
            traceId: 'ab'.repeat(16),
            spanId: 'cd'.repeat(8),
            attributes: { '_cost.amount': 1, 'customer.id': 'local' },
          },
        ]),
      ),
    });
    expect(res.status).toBe(200);
  });
});

describe('with tokens', () => {
  it('checks no Host when ingest and read tokens are set and no list is given', async () => {
    const c = await startTestCollector({ ingestTokens: ['in'], readTokens: ['rd'] });
    try {
      const res = await send(c.url, 'GET', '/v1/traces', { host: 'collector.example', authorization: 'Bearer rd' });
      expect(res.status).toBe(200);
    } finally {
      await c.close();
    }
  });

  it('still checks Host while one scope is open (read tokens only: ingest is open)', async () => {
    const c = await startTestCollector({ readTokens: ['rd'] });
    try {
      const ingest = await send(
        c.url,
        'POST',
        '/v1/events/ingest',
        { host: 'attacker.example', 'content-type': 'application/json' },
        JSON.stringify({ events: [{ name: 'x', external_customer_id: 'c' }] }),
      );
      expect(ingest.status).toBe(403);
    } finally {
      await c.close();
    }
  });

  it('serves COSTTRACE_ALLOWED_HOSTS and loopback, refuses other Hosts (a real process, env wiring)', async () => {
    const server = await spawnCollector([], {
      COSTTRACE_PORT: '0',
      COSTTRACE_DB: join(dbDir, 'allowed.duckdb'),
      COSTTRACE_INGEST_TOKEN: 'in',
      COSTTRACE_READ_TOKEN: 'rd',
      COSTTRACE_ALLOWED_HOSTS: 'costtrace.internal, [::1]',
    });
    try {
      const read = (host: string) => send(server.url, 'GET', '/v1/traces', { host, authorization: 'Bearer rd' });
      expect((await read('costtrace.internal:4318')).status).toBe(200);
      expect((await read('COSTTRACE.internal')).status).toBe(200);
      expect((await read('localhost:4318')).status).toBe(200);
      expect((await read('[::1]:4318')).status).toBe(200);
      const refused = await read('attacker.example');
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body.toString()).message).toEqual(REFUSED);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  it.each([
    [{ COSTTRACE_ALLOWED_HOSTS: 'costtrace.internal' }, 'COSTTRACE_ALLOWED_HOSTS needs COSTTRACE_INGEST_TOKEN'],
    [
      { COSTTRACE_ALLOWED_HOSTS: 'x.example:80', COSTTRACE_INGEST_TOKEN: 'i', COSTTRACE_READ_TOKEN: 'r' },
      '"x.example:80" is not a host name or address',
    ],
    [
      { COSTTRACE_ALLOWED_HOSTS: 'http://x.example', COSTTRACE_INGEST_TOKEN: 'i', COSTTRACE_READ_TOKEN: 'r' },
      '"http://x.example" is not a host name or address',
    ],
  ])('refuses the configuration %j', (env, message) => {
    expect(() => parseServeConfig([], env)).toThrow(ConfigError);
    expect(() => parseServeConfig([], env)).toThrow(message);
  });
});
