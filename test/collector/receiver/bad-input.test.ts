/**
 * Bad input never crashes the collector nor gets a 5xx: random bytes and mutated OTLP in both encodings.
 * Overload and store failure answer 429/503 with Retry-After.
 */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../../helpers/collector.ts';
import { decodeProtoStatus, jsonRequest, protobufRequest, type SpanSpec } from '../../helpers/otlp.ts';

let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector();
});
afterAll(async () => {
  await c.close();
});

async function post(body: Uint8Array | string, contentType: string, gzip = false) {
  const payload = gzip ? gzipSync(body) : body;
  const res = await fetch(`${c.url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(gzip ? { 'content-encoding': 'gzip' } : {}) },
    body: payload,
  });
  await res.arrayBuffer();
  return res.status;
}

const validSpans: SpanSpec[] = [
  { traceId: 'ab'.repeat(16), spanId: '01'.repeat(8), attributes: { '_cost.amount': 1, 'customer.id': 'x' } },
  { traceId: 'ab'.repeat(16), spanId: '02'.repeat(8), parentSpanId: '01'.repeat(8) },
];
const validJson = JSON.stringify(jsonRequest(validSpans));
const validProto = protobufRequest(jsonRequest(validSpans));

/** Mutations of a valid body: flip, insert, delete and truncate bytes. */
const mutated = (base: Uint8Array) =>
  fc
    .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'insert', 'delete', 'cut')), {
      minLength: 1,
      maxLength: 4,
    })
    .map((ops) => {
      let b = Buffer.from(base);
      for (const [pos, byte, op] of ops) {
        const p = pos % Math.max(1, b.length);
        if (op === 'flip') b[p] = byte;
        else if (op === 'insert') b = Buffer.concat([b.subarray(0, p), Buffer.from([byte]), b.subarray(p)]);
        else if (op === 'delete') b = Buffer.concat([b.subarray(0, p), b.subarray(p + 1)]);
        else b = b.subarray(0, p);
      }
      return b;
    });

describe('fuzzed bodies', () => {
  it('random event batches (any JSON, lone surrogates, huge numbers, odd dates) get 200, 400 or 422, never 5xx', async () => {
    const text = fc.oneof(fc.string(), fc.constantFrom('\ud800', 'a\udfff', '', 'x'.repeat(300)));
    const scalar = fc.oneof(
      text,
      fc.double(),
      fc.constantFrom('1e400', '-0', '99999999999999999999999999', '0.0000000000001', 1e300),
    );
    const date = fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.constantFrom('1969-12-31T23:59:59Z', '2024-02-30T00:00:00Z', '2554-07-22T00:00:00Z', '0000-01-01T00:00:00Z'),
    );
    const event = fc.record(
      {
        name: text,
        external_customer_id: text,
        external_id: text,
        parent_id: text,
        timestamp: date,
        metadata: fc.dictionary(
          text,
          fc.oneof(scalar, fc.record({ amount: scalar, currency: fc.constantFrom('usd', 'USD', 'eur') })),
        ),
      },
      { requiredKeys: [] },
    );
    const bodies = fc.oneof(
      fc.record({ events: fc.array(event, { maxLength: 20 }) }).map((b) => JSON.stringify(b)),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string(),
    );
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const res = await fetch(`${c.url}/v1/events/ingest`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        await res.arrayBuffer();
        expect([200, 400, 422]).toContain(res.status);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 400) },
    );
    expect((await fetch(`${c.url}/healthz`)).status).toBe(200);
  });

  it.each([
    ['application/x-protobuf', false],
    ['application/x-protobuf', true],
    ['application/json', false],
    ['application/json', true],
  ])('random and mutated %s bodies (gzip %s) get 200 or 400, never 5xx', async (ct, gzip) => {
    const base = ct === 'application/json' ? Buffer.from(validJson) : validProto;
    const bodies = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      mutated(base),
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))),
    );
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        expect([200, 400]).toContain(await post(body, ct, gzip));
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 400) },
    );
    // still serving and storing afterwards
    expect(await post(validJson, 'application/json')).toBe(200);
    expect((await fetch(`${c.url}/healthz`)).status).toBe(200);
  });
});

describe('backpressure and store failure', () => {
  it('answers 429 with Retry-After when the ingest queue is full, and stores every acknowledged batch', async () => {
    const small = await startTestCollector({ maxQueuedRecords: 10 });
    try {
      const bodies = Array.from({ length: 30 }, (_, n) =>
        JSON.stringify(
          jsonRequest(
            Array.from({ length: 10 }, (_, i) => ({
              traceId: `${n.toString(16).padStart(4, '0')}${'e'.repeat(28)}`,
              spanId: (i + 1).toString(16).padStart(16, '0'),
            })),
          ),
        ),
      );
      const results = await Promise.all(
        bodies.map(async (body, n) => {
          const res = await fetch(`${small.url}/v1/traces`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          });
          return { n, status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
        }),
      );
      const throttled = results.filter((r) => r.status === 429);
      expect(throttled.length).toBeGreaterThan(0);
      for (const r of throttled) {
        expect(r.retryAfter).toBe('1');
        expect(r.body).toEqual({ code: 8, message: 'ingest queue is full (records waiting for commit); retry later' });
      }
      for (const r of results.filter((x) => x.status !== 429)) {
        expect(r.status).toBe(200);
        const t = await fetch(`${small.url}/v1/traces/${r.n.toString(16).padStart(4, '0')}${'e'.repeat(28)}`);
        expect(((await t.json()) as { span_count: number }).span_count).toBe(10);
      }
    } finally {
      await small.close();
    }
  });

  it('answers 429 naming the limit when the upload memory budget is in use (bounded memory), and serves again after', async () => {
    const body = Buffer.from(validJson);
    const small = await startTestCollector({ uploadBudgetBytes: 2 * body.length });
    try {
      let finish: () => void = () => {};
      const slow = new ReadableStream({
        start(controller) {
          controller.enqueue(body.subarray(0, body.length - 5));
          finish = () => {
            controller.enqueue(body.subarray(body.length - 5));
            controller.close();
          };
        },
      });
      const first = fetch(`${small.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: slow,
        duplex: 'half',
      } as RequestInit);
      await new Promise((r) => setTimeout(r, 100)); // the first upload is now being read
      const second = await fetch(`${small.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: validJson,
      });
      expect(second.status).toBe(429);
      expect(second.headers.get('retry-after')).toBe('1');
      expect(((await second.json()) as { message: string }).message).toMatch(/upload budget of \d+ bytes/);
      finish();
      expect((await first).status).toBe(200);
      const third = await fetch(`${small.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: validJson,
      });
      expect(third.status).toBe(200);
    } finally {
      await small.close();
    }
  });

  it('answers 503 with Retry-After in the request encoding when the store cannot commit', async () => {
    const broken = await startTestCollector();
    try {
      broken.collector.db.writer.closeSync();
      const res = await fetch(`${broken.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: validProto,
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('2');
      expect(res.headers.get('content-type')).toBe('application/x-protobuf');
      const status = decodeProtoStatus(Buffer.from(await res.arrayBuffer()));
      expect(status.code).toBe(14);
      // A stable message: no engine text, no file path.
      expect(status.message).toBe('store write failed; retry later');
      expect((await fetch(`${broken.url}/readyz`)).status).toBe(503);
      const events = await fetch(`${broken.url}/v1/events/ingest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events: [{ name: 'x', external_customer_id: 'c', external_id: 'e-1' }] }),
      });
      expect(events.status).toBe(503);
      expect(events.headers.get('retry-after')).toBe('2');
      expect(((await events.json()) as { error: string }).error).toBe('unavailable');
      expect((await fetch(`${broken.url}/healthz`)).status).toBe(200);
    } finally {
      await broken.close().catch(() => undefined);
    }
  });
});
