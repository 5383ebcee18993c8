import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../../helpers/collector.ts';
import { decodeProtoStatus } from '../../helpers/otlp.ts';

let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector({ ingestTokens: ['in-1', 'in-2'], readTokens: ['rd-1'] });
});
afterAll(async () => {
  await c.close();
});

const ingest = (auth?: string, ct = 'application/json') =>
  fetch(`${c.url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': ct, ...(auth ? { authorization: auth } : {}) },
    body: ct === 'application/json' ? '{}' : new Uint8Array(),
  });
const read = (path: string, auth?: string) =>
  fetch(`${c.url}${path}`, { headers: auth ? { authorization: auth } : {} });

describe('bearer-token scopes', () => {
  it.each([
    ['no token', undefined, 401],
    ['unknown token', 'Bearer nope', 401],
    ['malformed header', 'Basic in-1', 401],
    ['read token', 'Bearer rd-1', 403],
    ['first ingest token', 'Bearer in-1', 200],
    ['second ingest token of the list', 'bearer in-2', 200],
  ])('POST /v1/traces with %s → %s', async (_n, auth, status) => {
    const res = await ingest(auth);
    expect(res.status).toBe(status);
    if (status !== 200) {
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(((await res.json()) as { code: number }).code).toBe(status === 401 ? 16 : 7);
    }
  });

  it('answers an unauthenticated protobuf export with a protobuf Status', async () => {
    const res = await ingest(undefined, 'application/x-protobuf');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(decodeProtoStatus(Buffer.from(await res.arrayBuffer()))).toEqual({
      code: 16,
      message: 'missing bearer token (Authorization: Bearer <token>)',
    });
  });

  it.each([
    ['/v1/traces', undefined, 401],
    ['/v1/traces', 'Bearer in-1', 403],
    ['/v1/traces', 'Bearer rd-1', 200],
    ['/v1/traces/0123456789abcdef0123456789abcdef', 'Bearer rd-1', 404],
    ['/v1/traces/0123456789abcdef0123456789abcdef', undefined, 401],
    ['/metrics', undefined, 401],
    ['/metrics', 'Bearer rd-1', 200],
    ['/healthz', undefined, 200],
    ['/readyz', undefined, 200],
  ])('GET %s with %s → %s', async (path, auth, status) => {
    const res = await read(path, auth);
    expect(res.status).toBe(status);
    if (status === 401 || status === 403) {
      const body = (await res.json()) as { error: string };
      expect(body.error).toBe(status === 401 ? 'unauthorized' : 'forbidden');
    }
  });
});
