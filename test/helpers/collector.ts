import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Collector, type CollectorOptions, openCollector } from '../../collector/collector.ts';
import { type JsonAnswer, postJson } from './http.ts';
import { checkResponseAgainstSchema } from './response-schemas.ts';

export { postJson };

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface TestCollector {
  readonly collector: Collector;
  readonly url: string;
  readonly dbPath: string;
  /**
   * Asks a route through `app.inject()` — no socket — and returns the status and parsed JSON answer. For tests
   * where only the route's answer is the point; the response-schema check applies as over a socket.
   */
  injectJson<T = Record<string, unknown>>(
    method: Method,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<JsonAnswer<T>>;
  /** Closes the collector; keeps the database file unless `removeFiles`. */
  close(removeFiles?: boolean): Promise<void>;
}

/**
 * A real collector on a free loopback port with a fresh DuckDB file in a temp folder. Every JSON response it
 * sends is checked against its route's documented response schema: an undocumented field, a wrong type or a
 * status without a schema fails the request (500), so every API test checks the OpenAPI document too.
 */
export async function startTestCollector(options: Partial<CollectorOptions> = {}): Promise<TestCollector> {
  const dir = await mkdtemp(join(tmpdir(), 'costtrace-test-'));
  const dbPath = options.dbPath ?? join(dir, 'test.duckdb');
  const collector = await openCollector({
    dbPath,
    maxBodyBytes: 20 * 1024 * 1024,
    ingestTokens: [],
    readTokens: [],
    checkResponse: checkResponseAgainstSchema,
    ...options,
  });
  const address = await collector.app.listen({ host: '127.0.0.1', port: 0 });
  return {
    collector,
    url: address,
    dbPath,
    async injectJson<T>(method: Method, path: string, body?: unknown, headers: Record<string, string> = {}) {
      const res = await collector.app.inject({
        method,
        url: path,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      return { status: res.statusCode, body: res.json() as T };
    },
    async close(removeFiles = true) {
      await collector.close();
      if (removeFiles) await rm(dir, { recursive: true, force: true });
    },
  };
}
