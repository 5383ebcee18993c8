/**
 * The API describes itself: `/openapi.json` is a valid OpenAPI 3.1 document (checked by a real validator)
 * with every route, its parameters, request body and responses (errors included); `/docs` renders it offline;
 * the document is a read (read tokens apply). That each response matches its documented schema is checked on
 * every request of the API tests (test/helpers/collector.ts).
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../../helpers/collector.ts';
import { bearer } from '../../helpers/http.ts';

let c: TestCollector;
let doc: {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>>;
  components: { schemas?: Record<string, unknown> };
};
beforeAll(async () => {
  c = await startTestCollector();
  doc = (await (await fetch(`${c.url}/openapi.json`)).json()) as typeof doc;
});
afterAll(async () => {
  await c.close();
});

describe('OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  it('documents every API route with its responses, errors included', () => {
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
        'GET /openapi.json',
        'POST /v1/traces',
        'PUT /v1/traces',
        'PATCH /v1/traces',
        'DELETE /v1/traces',
        'POST /v1/logs',
        'POST /v1/metrics',
        'GET /v1/traces/{trace_id}',
        'GET /v1/traces',
        'GET /v1/metrics',
        'GET /v1/metrics/customers',
        'GET /v1/cost-drivers',
        'POST /v1/events/ingest',
        'POST /v1/customers',
        'GET /v1/customers/{external_id}',
        'GET /v1/customers',
        'POST /v1/admin/snapshot',
        'GET /v1/prices',
        'PUT /v1/prices',
        'POST /v1/prices/reprice',
        'GET /v1/prices/unpriced',
        'POST /v1/webhooks/polar',
        'POST /v1/webhooks/stripe',
        'GET /v1/forwarding',
        'PUT /v1/budgets/{customer_id}',
        'GET /v1/budgets',
        'DELETE /v1/budgets/{customer_id}',
        'GET /v1/budgets/{customer_id}/status',
        'POST /v1/meters',
        'GET /v1/meters',
        'GET /v1/meters/{id}',
        'DELETE /v1/meters/{id}',
        'GET /v1/meters/{id}/quantities',
        'GET /v1/insights',
      ].sort(),
    );
    // Routes that only refuse (405 / 404 for OTLP metrics and logs) have no success; health has no errors.
    const refusing = new Set([
      'PUT /v1/traces',
      'PATCH /v1/traces',
      'DELETE /v1/traces',
      'POST /v1/logs',
      'POST /v1/metrics',
    ]);
    const health = new Set(['GET /healthz', 'GET /readyz']);
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const route = `${method.toUpperCase()} ${path}`;
        const statuses = Object.keys(op.responses);
        if (!refusing.has(route))
          expect({ route, success: statuses.filter((st) => /^2/.test(st)) }).toEqual({
            route,
            success: [route === 'POST /v1/meters' ? '201' : '200'],
          });
        if (!health.has(route))
          expect({ route, errors: statuses.some((st) => /^4/.test(st)) }).toEqual({ route, errors: true });
      }
    }
    expect(doc.paths['/v1/events/ingest']?.post?.requestBody).toBeDefined();
    expect(doc.paths['/v1/traces']?.post?.requestBody).toMatchObject({
      content: { 'application/x-protobuf': {}, 'application/json': {} },
    });
    expect(Object.keys(doc.components.schemas ?? {})).toContain('TraceSpan');
  });

  it('renders at /docs from local assets (no CDN)', async () => {
    const res = await fetch(`${c.url}/docs/`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('swagger-ui');
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1|localhost)[a-z0-9.-]+\.[a-z]{2,}\/[^"']*\.(js|css)/);
    const css = await fetch(`${c.url}/docs/static/swagger-ui.css`);
    expect(css.status).toBe(200);
  });
});

describe('OpenAPI document with read tokens', () => {
  it('is a read: 401 without a token, 403 with an ingest token, 200 with a read token', async () => {
    const secured = await startTestCollector({ ingestTokens: ['in'], readTokens: ['rd'] });
    try {
      for (const path of ['/openapi.json', '/docs/json']) {
        const get = (token?: string) => secured.injectJson('GET', path, undefined, bearer(token));
        expect((await get()).status).toBe(401);
        expect((await get('in')).status).toBe(403);
        expect((await get('rd')).status).toBe(200);
      }
    } finally {
      await secured.close();
    }
  });
});
