/**
 * Hostile and buggy clients (one test per finding of the hardening probe): each attack runs while a
 * bystander client keeps ingesting, and the bystander must never see a 5xx and must find what it was
 * acknowledged stored. Memory is asserted as bounds on RSS growth, never timings.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataRefusedError } from '../../../collector/writer/ingest-queue.ts';
import type { SpanRecord } from '../../../src/records.ts';
import { startTestCollector, type TestCollector } from '../../helpers/collector.ts';
import {
  emptySpansRequest,
  rssGrowthDuring,
  slowEventUploads,
  slowUpload,
  withBystander,
} from '../../helpers/hostile.ts';
import { getJson, postText } from '../../helpers/http.ts';
import { jsonRequest, protobufRequest } from '../../helpers/otlp.ts';

const MiB = 1024 * 1024;
let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector({ bodyIdleTimeoutMs: 1_000, uploadBudgetBytes: 64 * MiB });
});
afterAll(async () => {
  await c.close();
});

async function expectBystanderUnharmed(report: { statuses: number[]; storedTraceIds: string[] }) {
  expect(report.statuses.length).toBeGreaterThan(0);
  expect(report.statuses.filter((s) => s >= 500)).toEqual([]);
  expect(report.statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
  for (const traceId of report.storedTraceIds) {
    const res = await fetch(`${c.url}/v1/traces/${traceId}`);
    expect(res.status).toBe(200);
  }
}

describe('poisoned group commits: one request the store refuses fails alone', () => {
  function record(n: number, startTimeUnixNano: bigint): SpanRecord {
    return {
      traceId: `${n.toString(16).padStart(8, '0')}${'c'.repeat(24)}`,
      spanId: '2'.repeat(16),
      parentSpanId: null,
      name: 'isolation',
      kind: 1,
      serviceName: 'svc',
      scopeName: '',
      startTimeUnixNano,
      endTimeUnixNano: startTimeUnixNano < 0n ? 0n : startTimeUnixNano,
      statusCode: 0,
      customerOwn: 'isolated',
      resourceCustomer: null,
      costPicocents: 1n,
      costSource: 'provided',
      revenuePicocents: null,
      attributesJson: '{}',
      llmVendor: null,
      llmModel: null,
      llmCall: null,
      priceVersion: null,
    };
  }

  it('retries a failed group one request at a time: the bad one gets a permanent error, the others commit', async () => {
    const queue = c.collector.queue;
    // Hold the writer so the three requests queue up and share one group commit.
    let open: () => void = () => {};
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const held = queue.exclusive(() => gate);
    const good1 = queue.submit([record(1, 1700000000000000000n)]);
    // Bypasses validation on purpose: a value the store cannot hold (a negative UBIGINT).
    const bad = queue.submit([record(2, -1n)]).then(
      () => 'committed',
      (err: unknown) => err,
    );
    const good2 = queue.submit([record(3, 1700000000000000000n)]);
    open();
    await held;
    await expect(good1).resolves.toBeUndefined();
    await expect(good2).resolves.toBeUndefined();
    expect(await bad).toBeInstanceOf(DataRefusedError);
    expect((await getJson(`${c.url}/v1/traces/${'1'.padStart(8, '0')}${'c'.repeat(24)}`)).status).toBe(200);
    expect((await getJson(`${c.url}/v1/traces/${'3'.padStart(8, '0')}${'c'.repeat(24)}`)).status).toBe(200);
    expect((await getJson(`${c.url}/v1/traces/${'2'.padStart(8, '0')}${'c'.repeat(24)}`)).status).toBe(404);
    expect(queue.healthy).toBe(true);
  });

  it('lone UTF-16 surrogates: ids that differ only there are one canonical id in JSON spans and events', async () => {
    const report = await withBystander(c.url, async () => {
      const spanIds = ['a\ud800', 'a\udc00', 'a\ufffd'];
      const results = await Promise.all(
        spanIds.map((customer, i) =>
          postText(
            `${c.url}/v1/traces`,
            jsonRequest([
              { traceId: `${'d'.repeat(31)}${i}`, spanId: '3'.repeat(16), attributes: { 'customer.id': customer } },
            ]),
          ),
        ),
      );
      const events = await Promise.all(
        ['b\ud800', 'b\udbff'].map((customer, i) =>
          postText(`${c.url}/v1/events/ingest`, {
            events: [{ name: 'x\ud800', external_customer_id: customer, external_id: `lone-${i}\udc00` }],
          }),
        ),
      );
      return { results, events };
    });
    for (const r of report.result.results) expect(r.status).toBe(200);
    for (const r of report.result.events) expect(r.status).toBe(200);
    await expectBystanderUnharmed(report);
    const a = await getJson(`${c.url}/v1/customers/${encodeURIComponent('a\ufffd')}`);
    expect(a.status).toBe(200);
    const list = await getJson(`${c.url}/v1/customers?query=b&limit=1000`);
    const ids = (list.body.items as Array<{ external_id: string }>).map((x) => x.external_id);
    expect(ids.filter((id) => id.startsWith('b') && id.length === 2)).toEqual(['b\ufffd']);
    // Later requests still commit (nothing is left poisoned).
    const after = await postText(`${c.url}/v1/events/ingest`, {
      events: [{ name: 'y', external_customer_id: 'a\udfff' }],
    });
    expect(after.status).toBe(200);
  });

  it('an OTLP/JSON time given as a number past 2^64 is a 400 naming the field, not a failed commit', async () => {
    const report = await withBystander(c.url, async () => {
      const body = JSON.stringify(jsonRequest([{ traceId: 'e'.repeat(32), spanId: '4'.repeat(16) }])).replace(
        '"startTimeUnixNano":"1700000000000000000"',
        '"startTimeUnixNano":1e20',
      );
      return Promise.all([postText(`${c.url}/v1/traces`, body), postText(`${c.url}/v1/traces`, body)]);
    });
    for (const r of report.result) {
      expect(r.status).toBe(400);
      expect(r.json().message).toMatch(/startTimeUnixNano must be an unsigned 64-bit integer/);
    }
    await expectBystanderUnharmed(report);
  });

  it('an event timestamp before 1970 (or an impossible date) is a 422 with its location', async () => {
    const report = await withBystander(
      c.url,
      () =>
        postText(`${c.url}/v1/events/ingest`, {
          events: [
            { name: 'old', external_customer_id: 'c', timestamp: '1969-12-31T23:59:59Z' },
            { name: 'feb30', external_customer_id: 'c', timestamp: '2024-02-30T10:00:00Z' },
            { name: 'hour24', external_customer_id: 'c', timestamp: '2024-02-10T24:00:00Z' },
          ],
        }),
      { events: true },
    );
    expect(report.result.status).toBe(422);
    const detail = report.result.json().detail as Array<{ loc: unknown[] }>;
    expect(detail.map((d) => d.loc)).toEqual([
      ['body', 'events', 0, 'timestamp'],
      ['body', 'events', 1, 'timestamp'],
      ['body', 'events', 2, 'timestamp'],
    ]);
    await expectBystanderUnharmed(report);
  });
});

describe('money bounds: nothing acknowledged can overflow a sum', () => {
  it('rejects 26-digit costs one by one and every read endpoint still answers', async () => {
    const traceId = `${'f'.repeat(31)}1`;
    const huge = '99999999999999999999999999';
    const res = await postText(
      `${c.url}/v1/traces`,
      jsonRequest(
        Array.from({ length: 4 }, (_, i) => ({
          traceId,
          spanId: `${i + 1}`.padStart(16, '0'),
          attributes: { 'customer.id': 'overflow', '_cost.amount': { stringValue: huge } },
        })),
      ),
    );
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ partialSuccess: { rejectedSpans: '4' } });
    const events = await postText(`${c.url}/v1/events/ingest`, {
      events: [
        { name: 'x', external_customer_id: 'overflow', metadata: { _revenue: { amount: huge, currency: 'usd' } } },
      ],
    });
    expect(events.status).toBe(422);
    for (const path of [
      '/v1/metrics?start_date=2023-01-01&end_date=2023-12-31&interval=month',
      '/v1/metrics/customers?start_date=2023-01-01&end_date=2023-12-31',
      '/v1/cost-drivers?start_date=2023-01-01&end_date=2023-12-31&group_by=model',
    ]) {
      expect((await getJson(`${c.url}${path}`)).status).toBe(200);
    }
  });
});

describe('amplification: a tiny upload cannot make millions of objects', () => {
  it('answers 413 naming the span limit to a gzipped flood of empty spans, with bounded memory', async () => {
    const body = gzipSync(emptySpansRequest(5_000_000)); // 10 MB inflated, ~10 KB on the wire
    expect(body.length).toBeLessThan(64 * 1024);
    const report = await withBystander(c.url, () =>
      rssGrowthDuring(async () => {
        const statuses = await Promise.all(
          Array.from({ length: 8 }, async () => {
            const res = await fetch(`${c.url}/v1/traces`, {
              method: 'POST',
              headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
              body,
            });
            await res.arrayBuffer();
            return res.status;
          }),
        );
        const health = await fetch(`${c.url}/healthz`);
        return { statuses, health: health.status };
      }),
    );
    // 413 for each flood the budget let in (8 × 10 MB inflated is more than its 64 MB: the rest get 429).
    const statuses = report.result.result.statuses;
    expect(statuses.filter((s) => s !== 413 && s !== 429)).toEqual([]);
    expect(statuses).toContain(413);
    expect(report.result.result.health).toBe(200);
    // Before the limit one such upload grew the server by gigabytes.
    expect(report.result.growthBytes).toBeLessThan(400 * MiB);
    await expectBystanderUnharmed(report);
  });

  it('says which limit a request passed', async () => {
    const res = await fetch(`${c.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [{ scopeSpans: [{ spans: Array.from({ length: 50_001 }, () => ({})) }] }],
      }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { message: string }).message).toBe(
      'request has more than 50000 spans (limit per request); send smaller batches',
    );
  });
});

describe('time limits: slow and stalled uploads', () => {
  it('70 trickling uploads do not hold other clients off, and a stalled body is answered 408 and closed', async () => {
    const report = await withBystander(c.url, async () => {
      const slow = Array.from({ length: 70 }, () => slowUpload(c.url, '/v1/traces', 'application/json'));
      for (const s of slow) s.write('{"resourceSpans":');
      // Keep them trickling for a while, slower than anyone should.
      for (let round = 0; round < 3; round++) {
        await new Promise((r) => setTimeout(r, 300));
        for (const s of slow) s.write(' ');
      }
      // Then they stall: each is answered 408 once the idle timeout passes.
      return Promise.all(slow.map((s) => s.done));
    });
    for (const r of report.result) {
      expect(r.status).toBe(408);
      expect(r.body).toContain('no request body bytes received for 1 s');
      expect(r.closed).toBe(true);
    }
    await expectBystanderUnharmed(report);
  });
});

describe('events API backpressure', () => {
  it('slow 5 MB event uploads are bounded by their share of the upload budget (429 naming it), memory stays bounded', async () => {
    const small = await startTestCollector({ bodyIdleTimeoutMs: 1_000, uploadBudgetBytes: 32 * MiB });
    try {
      const report = await withBystander(
        small.url,
        () => rssGrowthDuring(() => slowEventUploads(small.url, 40, 5, 50)),
        { events: true },
      );
      const statuses = report.result.result.map((r) => r.status);
      expect(statuses.filter((s) => s >= 500 || s === 0)).toEqual([]);
      expect(statuses).toContain(429);
      const refused = report.result.result.find((r) => r.status === 429);
      expect(refused?.body).toContain('upload budget of 8388608 bytes');
      expect(report.result.growthBytes).toBeLessThan(600 * MiB);
      expect(report.statuses.filter((s) => s >= 500)).toEqual([]);
    } finally {
      await small.close();
    }
  });

  it('refuses an event upload with 429 before reading it when the queue is full', async () => {
    const full = await startTestCollector({ maxQueuedRecords: 1 });
    try {
      // The gate exists before the writer runs it (start-up work may hold the writer first).
      let open: () => void = () => {};
      const gate = new Promise<void>((r) => (open = r));
      const held = full.collector.queue.exclusive(() => gate);
      const first = full.collector.queue.submitEvents(
        [
          {
            name: 'x',
            customerExternalId: 'c',
            timestampMicros: 1n,
            externalId: 'e1',
            parentId: null,
            costPicocents: null,
            revenuePicocents: null,
            llm: null,
            metadataJson: '{}',
          },
        ],
        1n,
      );
      const res = await fetch(`${full.url}/v1/events/ingest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events: [{ name: 'y', external_customer_id: 'c' }] }),
      });
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('1');
      open();
      await held;
      await first;
    } finally {
      await full.close();
    }
  });

  it('groups concurrent event batches into shared transactions, each answered with its own counts', async () => {
    const before = await batchesCommitted();
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        postText(`${c.url}/v1/events/ingest`, {
          events: [
            { name: 'g', external_customer_id: 'grouped', external_id: `g-${i}` },
            { name: 'g', external_customer_id: 'grouped', external_id: `g-shared` },
          ],
        }),
      ),
    );
    const bodies = results.map((r) => r.json() as { inserted: number; duplicates: number });
    expect(bodies.reduce((n, b) => n + b.inserted, 0)).toBe(41);
    for (const b of bodies) expect(b.inserted + b.duplicates).toBe(2);
    expect((await batchesCommitted()) - before).toBeLessThan(40);
  });

  async function batchesCommitted(): Promise<number> {
    const text = await (await fetch(`${c.url}/metrics`)).text();
    return Number(/costtrace_store_batches_total\{outcome="committed"\} (\d+)/.exec(text)?.[1] ?? 0);
  }
});

describe('parameters and error hygiene', () => {
  it.each([
    ['/v1/traces?offset=9223372036854775808', ['query', 'offset']],
    ['/v1/customers?offset=9223372036854775807', ['query', 'offset']],
    ['/v1/metrics/customers?start_date=2024-01-01&end_date=2024-01-02&offset=99999999999', ['query', 'offset']],
    ['/v1/metrics?start_date=9999-12-25&end_date=9999-12-31&interval=day', ['query', 'start_date']],
    ['/v1/metrics?start_date=2024-02-30&end_date=2024-03-31&interval=day', ['query', 'start_date']],
    ['/v1/traces?start_date=1969-12-31', ['query', 'start_date']],
    ['/v1/cost-drivers?start_date=2024-01-01&end_date=2555-01-01&group_by=model', ['query', 'end_date']],
  ])('%s is a 422 at %j, never a 5xx', async (path, loc) => {
    const res = await getJson(`${c.url}${path}`);
    expect(res.status).toBe(422);
    expect((res.body.detail as Array<{ loc: unknown[] }>).map((d) => d.loc)).toContainEqual(loc);
  });

  it('serves customers with ids up to the id limit (256 characters), as accepted at ingest', async () => {
    const id = `${'é'.repeat(200)}-${'z'.repeat(55)}`;
    expect(id.length).toBe(256);
    expect((await postText(`${c.url}/v1/customers`, { external_id: id })).status).toBe(200);
    const res = await getJson(`${c.url}/v1/customers/${encodeURIComponent(id)}`);
    expect(res.status).toBe(200);
    expect(res.body.external_id).toBe(id);
    expect((await postText(`${c.url}/v1/customers`, { external_id: `${id}x` })).status).toBe(422);
  });

  it('answers a huge invalid batch with a small 422: the first 100 problems and a count', async () => {
    const events = Array.from({ length: 10_000 }, () => ({ name: '', external_customer_id: '' }));
    const res = await postText(`${c.url}/v1/events/ingest`, { events });
    expect(res.status).toBe(422);
    expect(res.text.length).toBeLessThan(64 * 1024);
    const body = res.json();
    expect((body.detail as unknown[]).length).toBe(100);
    expect(body.message).toContain('20000 problems in all; the first 100 are in detail');
  });

  it('refuses more events than the per-request limit, naming it', async () => {
    const res = await postText(`${c.url}/v1/events/ingest`, {
      events: Array.from({ length: 10_001 }, () => ({ name: 'x', external_customer_id: 'c' })),
    });
    expect(res.status).toBe(422);
    expect(res.json().detail).toEqual([
      { loc: ['body', 'events'], msg: 'at most 10000 events per request; got 10001', type: 'too_long' },
    ]);
  });

  it('gives a stable message without engine text or file paths when the store fails', async () => {
    const broken = await startTestCollector();
    try {
      broken.collector.db.writer.closeSync();
      const res = await fetch(`${broken.url}/v1/events/ingest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events: [{ name: 'x', external_customer_id: 'c' }] }),
      });
      const text = await res.text();
      expect(res.status).toBe(503);
      expect(JSON.parse(text)).toEqual({ error: 'unavailable', message: 'store write failed; retry later' });
      expect(text).not.toContain(broken.dbPath);
    } finally {
      await broken.close().catch(() => undefined);
    }
  });
});

describe('protobuf and JSON agree on text', () => {
  it('invalid UTF-8 in protobuf and a lone surrogate in JSON name the same customer', async () => {
    const json = jsonRequest([
      { traceId: `${'9'.repeat(31)}1`, spanId: '5'.repeat(16), attributes: { 'customer.id': 'p\ud800' } },
    ]);
    const proto = protobufRequest(
      jsonRequest([{ traceId: `${'9'.repeat(31)}2`, spanId: '5'.repeat(16), attributes: { 'customer.id': 'pq' } }]),
    );
    // Turn "pq" into "p" + 0xFF: invalid UTF-8 of the same length on the wire.
    proto.set([0x70, 0xff], proto.indexOf(Buffer.from('pq')));
    expect((await postText(`${c.url}/v1/traces`, json)).status).toBe(200);
    const res = await fetch(`${c.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: proto,
    });
    expect(res.status).toBe(200);
    const one = await getJson(`${c.url}/v1/traces/${'9'.repeat(31)}1`);
    const two = await getJson(`${c.url}/v1/traces/${'9'.repeat(31)}2`);
    const customerOf = (t: Record<string, unknown>) => (t.spans as Array<{ customer_id: string }>)[0]?.customer_id;
    expect(customerOf(one.body)).toBe('p\ufffd');
    expect(customerOf(two.body)).toBe('p\ufffd');
  });
});
