/**
 * The ClickHouse store's span write against the DuckDB store, for the same requests: spans re-sent in later requests
 * and twice within one, a customer named only by the resource, spans without cost. Both stores hold the same spans
 * once (ClickHouse without a duplicate row even before FINAL), the same customers, the same daily series; a batch
 * written again (an answer lost) inserts nothing.
 */
import { describe, expect, it } from 'vitest';
import { ClickHouseCustomers, listClickHouseCustomers } from '../../../collector/clickhouse/customers.ts';
import { bucketSums } from '../../../collector/clickhouse/metric-reads.ts';
import { writeClickHouseSpans } from '../../../collector/clickhouse/span-writer.ts';
import { offsetSegments } from '../../../collector/metrics/calendar.ts';
import * as duckReads from '../../../collector/reads/metric-reads.ts';
import type { AttributedSpan } from '../../../src/records.ts';
import { bothStores } from '../../helpers/clickhouse.ts';
import { jsonRequest, type SpanSpec } from '../../helpers/otlp.ts';

const p = { database: 'ct_writer' };
const T0_MS = Date.UTC(2025, 2, 1);

const span = (i: number, customer: string | null, cost: string | null): SpanSpec => {
  const ns = (BigInt(T0_MS) + BigInt(i) * 3_600_000n) * 1_000_000n + 7n;
  const attributes: Record<string, string> = {};
  if (customer !== null) attributes['customer.id'] = customer;
  if (cost !== null) attributes['_cost.amount'] = cost;
  return {
    traceId: (i + 1).toString(16).padStart(32, '0'),
    spanId: (i + 1).toString(16).padStart(16, '0'),
    name: `op ${i}`,
    startTimeUnixNano: String(ns),
    endTimeUnixNano: String(ns + 5n),
    attributes,
  };
};

/** Requests: [spans, resource attributes]. */
const REQUESTS: Array<[SpanSpec[], Record<string, string>]> = [
  [[span(0, 'acme', '1.25'), span(1, 'globex', '2.000000000001'), span(2, null, '0.5')], { 'service.name': 'api' }],
  // A re-send of span 1 among new ones, and span 4 twice in the same request.
  [[span(1, 'globex', '2.000000000001'), span(3, 'acme', null), span(4, 'acme', '9'), span(4, 'acme', '9')], {}],
  // Spans naming no customer, under a resource that names one.
  [[span(5, null, '3.5'), span(6, null, null)], { 'service.name': 'worker', 'customer.id': 'tenant-r' }],
  // Everything again, days later.
  [[span(0, 'acme', '1.25'), span(5, null, '3.5'), span(30, 'acme', '0.000000000001')], { 'service.name': 'api' }],
];

const both = bothStores('chwriter', p);

describe('ClickHouse span writes', () => {
  it('store every span once, with the same customers and series as the DuckDB store, and a retry inserts nothing', async () => {
    const customers = await ClickHouseCustomers.load(both.client, p);
    const inserted: number[] = [];
    let last: AttributedSpan[] = [];
    for (const [spans, resource] of REQUESTS) {
      const body = JSON.stringify(jsonRequest(spans, resource));
      const res = await fetch(`${both.duck.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBe(200);
      const { records } = await both.duck.collector.decoder.decode('json', Buffer.from(body));
      last = records.map((record) => ({ record, attribution: { chainCustomer: record.customerOwn, pending: false } }));
      inserted.push((await writeClickHouseSpans(both.client, p, customers, last, 1_767_225_600_000_000n)).inserted);
    }
    expect(inserted).toEqual([3, 2, 2, 1]);
    // The last batch again, as after a lost answer: nothing new.
    expect((await writeClickHouseSpans(both.client, p, customers, last, 1_767_225_600_000_001n)).inserted).toBe(0);

    const duckCount = await both.duck.collector.db.read(
      async (c) => (await c.runAndReadAll('SELECT count(*)::INTEGER FROM records')).getRows()[0]?.[0],
    );
    const [plain] = await both.ch.rows<{ n: string }>('SELECT count() AS n FROM ct_writer.records');
    const [final] = await both.ch.rows<{ n: string }>('SELECT count() AS n FROM ct_writer.records FINAL');
    expect(duckCount).toBe(8);
    expect([Number(plain?.n), Number(final?.n)]).toEqual([8, 8]);

    const want = (await (await fetch(`${both.duck.url}/v1/customers?limit=100`)).json()) as { items: unknown[] };
    expect((await listClickHouseCustomers(both.client, p, { limit: 100, offset: 0 })).items).toEqual(want.items);

    const window = { fromMicros: BigInt(T0_MS) * 1000n, toMicros: BigInt(T0_MS + 5 * 86_400_000) * 1000n };
    const segments = offsetSegments('UTC', T0_MS, T0_MS + 5 * 86_400_000);
    const duckDaily = await both.duck.collector.db.read((c) =>
      duckReads.bucketSums(c, { ...window, customerKeys: null }, 'day', segments),
    );
    const chDaily = await bucketSums(both.client, p, { ...window, customerIds: null }, 'day', segments);
    expect([...chDaily].sort()).toEqual([...duckDaily].sort());
    expect(duckDaily.size).toBe(2);
  });
});
