/**
 * With read tokens set, the OpenAPI document and `/docs` need a read token however the path is spelled
 * (docs/contract.md §12 v3): percent-encoding, case, trailing and doubled slashes, dot segments, queries, matrix
 * parameters. Without a token every spelling answers 401 or 404 and never the document; with the read token the
 * real spellings serve it. Sent with node:http so the path reaches the server exactly as written (fetch would
 * normalize dot segments).
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../../helpers/collector.ts';

function get(
  base: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method: 'GET', path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector({ ingestTokens: ['in'], readTokens: ['rd'] });
});
afterAll(async () => c.close());

/** Spellings that reach a document route (or the docs page and its assets) once decoded. */
const SERVED = [
  '/openapi.json',
  '/openapi.json?x',
  '/openapi.json?format=yaml',
  '/%6Fpenapi.json',
  '/openapi%2Ejson',
  '/docs',
  '/docs/',
  '/docs?x',
  '/docs/json',
  '/docs/yaml',
  '/docs/%6Ason',
  '/docs/yam%6C',
  '/docs/%6A%73%6F%6E',
  '/%64ocs/json',
  '/docs/json?x',
  '/docs/yaml?x=1#frag',
  '/docs/static/index.html',
  '/docs/static/swagger-initializer.js',
  '/docs/static/swagger-ui.css',
  '/docs/static/swagger-ui-bundle.js',
];

/** Other spellings: each either needs the token too or is no route at all. */
const OTHER = [
  '/openapi.json/',
  '//openapi.json',
  '/OPENAPI.JSON',
  '/OpenApi.json',
  '/openapi.yaml',
  '/openapi.json;x',
  '/docs/JSON',
  '/docs/Yaml',
  '/docs/json/',
  '/docs/yaml/',
  '/docs//json',
  '//docs/json',
  '/docs/./json',
  '/docs/%2e/json',
  '/docs/static/../json',
  '/docs/static/%2e%2e/json',
  '/docs/static/..%2fjson',
  '/docs%2Fjson',
  '/docs%2fyaml',
  '/docs/json%00',
  '/docs/json%20',
  '/docs;/json',
  '/docs/json;x',
  '/docs/uiConfig',
  '/docs/initOAuth',
  '/docs/static/',
  '/./openapi.json',
  '/x/../openapi.json',
  '/docs/../openapi.json',
];

const looksLikeTheDocument = (body: string) => /"openapi"\s*:|^openapi:|swagger-ui|SwaggerUI/m.test(body);

describe('OpenAPI document and /docs with read tokens set', () => {
  it.each([...SERVED, ...OTHER])('%s without a token: 401 or 404, never the document', async (path) => {
    const res = await get(c.url, path);
    expect({ path, status: [401, 404].includes(res.status) }).toEqual({ path, status: true });
    expect(looksLikeTheDocument(res.body)).toBe(false);
  });

  it.each(SERVED)('%s without a token is 401 (it names a document route)', async (path) => {
    expect((await get(c.url, path)).status).toBe(401);
  });

  it.each(SERVED)('%s with an ingest token is 403', async (path) => {
    expect((await get(c.url, path, { authorization: 'Bearer in' })).status).toBe(403);
  });

  it.each(SERVED.filter((p) => !p.startsWith('/docs/static/') && !/^\/docs\/?(\?|$)/.test(p)))(
    '%s with the read token serves the document',
    async (path) => {
      const res = await get(c.url, path, { authorization: 'Bearer rd' });
      expect(res.status).toBe(200);
      expect(res.body).toMatch(/"openapi"\s*:\s*"3\.1\.0"|^openapi: 3\.1\.0/m);
    },
  );

  it('serves the docs page and its assets with the read token', async () => {
    for (const path of ['/docs/', '/docs/static/swagger-initializer.js', '/docs/static/swagger-ui.css']) {
      const res = await get(c.url, path, { authorization: 'Bearer rd' });
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
    }
  });
});
