import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Collector, type CollectorOptions, openCollector } from '../../collector/collector.ts';
import { checkResponseAgainstSchema } from './response-schemas.ts';

export interface TestCollector {
  readonly collector: Collector;
  readonly url: string;
  readonly dbPath: string;
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
    async close(removeFiles = true) {
      await collector.close();
      if (removeFiles) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** POSTs a JSON body and returns the status and parsed JSON answer. */
export async function postJson(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
