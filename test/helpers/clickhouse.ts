/**
 * A ClickHouse for a test file: `clickhouse:dev` (the real engine behind ClickHouse's HTTP interface) on a data folder
 * of its own, the official client pointed at it (its error log off: refusals are what tests ask for), and rows read
 * back with decimals and 64-bit integers quoted, as the store reads them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { afterAll, beforeAll } from 'vitest';
import type { Placement } from '../../collector/clickhouse/ddl.ts';
import { migrateClickHouse } from '../../collector/clickhouse/migrate.ts';
import { insertRecordRows, spanRow } from '../../collector/clickhouse/record-rows.ts';
import type { CollectorOptions } from '../../collector/collector.ts';
import { resolveTrace } from '../../collector/pipeline/attribution.ts';
import { type ClickHouseDevProcess, startClickHouseDevProcess } from '../../examples/support/clickhouse/start.ts';
import type { Attribution, SpanRecord } from '../../src/records.ts';
import { startTestCollector, type TestCollector } from './collector.ts';
import { jsonRequest, type SpanSpec } from './otlp.ts';

export interface TestClickHouse {
  readonly dev: ClickHouseDevProcess;
  readonly client: ClickHouseClient;
  /** Another client of the same endpoint (closed with the fixture). */
  newClient(): ClickHouseClient;
  rows<T = Record<string, unknown>>(query: string): Promise<T[]>;
  close(): Promise<void>;
}

export async function startTestClickHouse(name: string): Promise<TestClickHouse> {
  const dir = mkdtempSync(join(tmpdir(), `costtrace-${name}-`));
  const dev = await startClickHouseDevProcess(join(dir, 'data'));
  const clients: ClickHouseClient[] = [];
  const newClient = () => {
    const c = createClient({ url: dev.url, log: { level: ClickHouseLogLevel.OFF } });
    clients.push(c);
    return c;
  };
  const client = newClient();
  return {
    dev,
    client,
    newClient,
    async rows<T>(query: string) {
      const result = await client.query({
        query,
        format: 'JSONEachRow',
        clickhouse_settings: { output_format_json_quote_decimals: 1, output_format_json_quote_64bit_integers: 1 },
      });
      return (await result.json()) as T[];
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await dev.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The same OTLP/JSON request stored by a DuckDB test collector and written to ClickHouse as the ClickHouse store
 * writes it (decoded and priced by that collector's own pipeline, attributed by its rule with each trace whole in
 * the request). Returns the decoded records.
 */
export async function storeInBoth(
  duck: TestCollector,
  client: ClickHouseClient,
  p: Placement,
  spans: SpanSpec[],
  resource: Record<string, string>,
  ingestedAtMicros: bigint,
): Promise<SpanRecord[]> {
  const body = JSON.stringify(jsonRequest(spans, resource));
  const res = await fetch(`${duck.url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  if (res.status !== 200) throw new Error(`DuckDB collector answered ${res.status}: ${await res.text()}`);
  const { records } = await duck.collector.decoder.decode('json', Buffer.from(body));
  // Attribution by the pipeline's own rule, each trace whole in this request (a parent not in it: pending).
  const byTrace = new Map<string, SpanRecord[]>();
  for (const r of records) byTrace.set(r.traceId, [...(byTrace.get(r.traceId) ?? []), r]);
  const attribution = new Map<SpanRecord, Attribution>();
  for (const spans of byTrace.values()) {
    const resolved = resolveTrace(spans, () => undefined);
    for (const s of spans) attribution.set(s, resolved.get(s.spanId) as Attribution);
  }
  const rows = records.map((record) =>
    spanRow({ record, attribution: attribution.get(record) as Attribution }, ingestedAtMicros),
  );
  for (let i = 0; i < rows.length; i += 400) await insertRecordRows(client, p, rows.slice(i, i + 400));
  return records;
}

export interface BothStores {
  readonly ch: TestClickHouse;
  readonly client: ClickHouseClient;
  readonly duck: TestCollector;
}

/**
 * A test file's two stores: a ClickHouse with `p`'s database migrated, and a DuckDB test collector — started before
 * its tests and closed after them (vitest hooks registered here). Read the fields inside tests.
 */
export function bothStores(name: string, p: Placement, collector: Partial<CollectorOptions> = {}): BothStores {
  let started: { ch: TestClickHouse; duck: TestCollector } | undefined;
  beforeAll(async () => {
    const ch = await startTestClickHouse(name);
    await migrateClickHouse(ch.client, p);
    started = { ch, duck: await startTestCollector(collector) };
  }, 240_000);
  afterAll(async () => {
    await started?.duck.close();
    await started?.ch.close();
  });
  const get = () => {
    if (started === undefined) throw new Error('bothStores: read inside a test (the stores start in beforeAll)');
    return started;
  };
  return {
    get ch() {
      return get().ch;
    },
    get client() {
      return get().ch.client;
    },
    get duck() {
      return get().duck;
    },
  };
}
