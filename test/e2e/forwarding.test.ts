/**
 * Costs forwarded to Polar (docs/contract.md §9) through the official `@polar-sh/sdk` client, against a local fake of
 * Polar's events API that enforces its documented validation (fake-polar.ts): the event mapping (`_cost` as an
 * exact decimal string in cents, `_llm`, `<trace_id>:<span_id>`), 429 with Retry-After and 5xx retried, a 422
 * batch narrowed to the refused event (parked with Polar's reason, visible in GET /v1/forwarding) while the rest
 * go through, spans sent once their customer is known — and a SIGKILL of the collector mid-stream losing nothing
 * (Polar's external_id dedupe makes it exactly once).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnCollector } from '../helpers/child-collector.ts';
import { startTestCollector, type TestCollector } from '../helpers/collector.ts';
import { type FakePolar, startFakePolar } from '../helpers/fake-polar.ts';
import { post, until } from '../helpers/http.ts';
import { jsonRequest, type SpanSpec } from '../helpers/otlp.ts';

const TOKEN = 'polar_oat_test_token';
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const at = (iso: string) => String(BigInt(Date.parse(iso)) * 1_000_000n);

async function postSpans(url: string, spans: SpanSpec[]): Promise<void> {
  expect((await post(`${url}/v1/traces`, jsonRequest(spans))).status).toBe(200);
}

describe('forwarding costs to Polar', () => {
  let polar: FakePolar;
  let c: TestCollector;
  afterAll(async () => {
    await c?.close();
    await polar?.close();
  });

  it('sends attributed costs with the mapping of §9, through 429/5xx, parking what Polar refuses', async () => {
    polar = await startFakePolar(TOKEN);
    // The first attempt is rate limited (Retry-After: 1 s), the second meets a 503: both retried.
    polar.failNext(1, 429, 1);
    polar.failNext(1, 503);
    c = await startTestCollector({ billing: { polarToken: TOKEN, polarApiUrl: polar.url } });
    const trace = hex(0xabc, 32);
    await postSpans(c.url, [
      {
        traceId: trace,
        spanId: hex(1, 16),
        name: 'POST /answer',
        startTimeUnixNano: at('2026-03-05T10:00:00.123456Z'),
        endTimeUnixNano: at('2026-03-05T10:00:01Z'),
        attributes: { 'customer.id': 'acme' },
      },
      {
        traceId: trace,
        spanId: hex(2, 16),
        parentSpanId: hex(1, 16),
        name: 'chat gpt-4o',
        startTimeUnixNano: at('2026-03-05T10:00:00.2Z'),
        endTimeUnixNano: at('2026-03-05T10:00:00.9Z'),
        attributes: {
          '_cost.amount': '1.234567890123',
          'gen_ai.provider.name': 'openai',
          'gen_ai.request.model': 'gpt-4o',
          'gen_ai.usage.input_tokens': 1200,
          'gen_ai.usage.output_tokens': 300,
        },
      },
      // Over Polar's per-event limit (17 digits, 12 after the point: under 100,000 cents): parked.
      {
        traceId: trace,
        spanId: hex(3, 16),
        parentSpanId: hex(1, 16),
        name: 'gpu batch',
        startTimeUnixNano: at('2026-03-05T10:00:00.3Z'),
        endTimeUnixNano: at('2026-03-05T10:00:00.4Z'),
        attributes: { '_cost.amount': '150000' },
      },
      // Nobody to send it for: never forwarded.
      {
        traceId: hex(0xdef, 32),
        spanId: hex(1, 16),
        name: 'cron',
        startTimeUnixNano: at('2026-03-05T10:00:00Z'),
        endTimeUnixNano: at('2026-03-05T10:00:01Z'),
        attributes: { '_cost.amount': '3' },
      },
      // Its parent (with the customer) comes later: sent once it is known, for that customer.
      {
        traceId: hex(0x123, 32),
        spanId: hex(2, 16),
        parentSpanId: hex(1, 16),
        name: 'embed',
        startTimeUnixNano: at('2026-03-05T11:00:00Z'),
        endTimeUnixNano: at('2026-03-05T11:00:01Z'),
        attributes: { '_cost.amount': '0.5' },
      },
    ]);
    const events = await post(`${c.url}/v1/events/ingest`, {
      events: [
        {
          name: 'support.llm',
          external_customer_id: 'globex',
          external_id: 'ev-1',
          timestamp: '2026-03-05T12:00:00Z',
          metadata: {
            _cost: { amount: '0.0153', currency: 'usd' },
            _llm: {
              vendor: 'anthropic',
              model: 'claude-haiku-4',
              input_tokens: 900,
              output_tokens: 120,
              total_tokens: 1020,
            },
          },
        },
        { name: 'signup', external_customer_id: 'globex', external_id: 'ev-2', timestamp: '2026-03-05T12:00:01Z' },
      ],
    });
    expect(events.status).toBe(200);
    await until('the costs to reach Polar', () => polar.events.size === 2, 30_000);
    // Polar's 2xx reaches the fake before the collector records the send: wait for the record too.
    await until(
      'the sends to be recorded and the refused event parked',
      async () => {
        const f = (await (await fetch(`${c.url}/v1/forwarding`)).json()) as { parked: number; sent: number };
        return f.parked === 1 && f.sent === 2;
      },
      30_000,
    );
    expect(polar.events.get(`${trace}:${hex(2, 16)}`)).toEqual({
      name: 'chat gpt-4o',
      external_customer_id: 'acme',
      external_id: `${trace}:${hex(2, 16)}`,
      timestamp: '2026-03-05T10:00:00.200Z',
      metadata: {
        _cost: { amount: '1.234567890123', currency: 'usd' },
        _llm: { vendor: 'openai', model: 'gpt-4o', input_tokens: 1200, output_tokens: 300, total_tokens: 1500 },
      },
    });
    expect(polar.events.get('ev-1')).toMatchObject({
      external_customer_id: 'globex',
      metadata: {
        _cost: { amount: '0.0153', currency: 'usd' },
        _llm: {
          vendor: 'anthropic',
          model: 'claude-haiku-4',
          input_tokens: 900,
          output_tokens: 120,
          total_tokens: 1020,
        },
      },
    });
    expect(polar.requests.faults).toBe(2);
    expect(polar.requests.refused422).toBeGreaterThanOrEqual(1);
    const forwarding = (await (await fetch(`${c.url}/v1/forwarding`)).json()) as Record<string, unknown>;
    // The span waiting for its parent is not queued yet (no customer known): nothing pending.
    expect(forwarding).toMatchObject({ enabled: true, pending: 0, sent: 2, parked: 1 });
    expect(forwarding.parked_events).toEqual([
      expect.objectContaining({
        external_id: `${trace}:${hex(3, 16)}`,
        customer_id: 'acme',
        cost_exact: '150000',
        reason: expect.stringMatching(/metadata\._cost\.amount: Decimal input should have no more than 5 digits/),
      }),
    ]);

    // The late parent settles the waiting span: it goes out for acme.
    await postSpans(c.url, [
      {
        traceId: hex(0x123, 32),
        spanId: hex(1, 16),
        name: 'POST /embed',
        startTimeUnixNano: at('2026-03-05T11:00:00Z'),
        endTimeUnixNano: at('2026-03-05T11:00:02Z'),
        attributes: { 'customer.id': 'acme' },
      },
    ]);
    await until('the settled span to reach Polar', () => polar.events.size === 3, 30_000);
    expect(polar.events.get(`${hex(0x123, 32)}:${hex(2, 16)}`)).toMatchObject({
      external_customer_id: 'acme',
      metadata: { _cost: { amount: '0.5', currency: 'usd' } },
    });
    const metrics = await (await fetch(`${c.url}/metrics`)).text();
    expect(metrics).toMatch(/costtrace_polar_forwarded_total\{outcome="retry"\} 2/);
    expect(metrics).toMatch(/costtrace_polar_forwarded_total\{outcome="parked"\} 1/);
  });
});

describe('forwarding across kill -9', () => {
  let dir = '';
  let polar: FakePolar | undefined;
  afterAll(async () => {
    await polar?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('delivers every attributed cost exactly once after a SIGKILL mid-stream', async () => {
    polar = await startFakePolar(TOKEN);
    // A slow Polar: the outbox is still being drained when the collector dies.
    polar.setDelay(150);
    dir = await mkdtemp(join(tmpdir(), 'costtrace-forward-'));
    const db = join(dir, 'f.duckdb');
    const env = { COSTTRACE_POLAR_TOKEN: TOKEN, COSTTRACE_POLAR_API_URL: polar.url };
    const first = await spawnCollector(['--port', '0', '--db', db], env);
    const TRACES = 60;
    const SPANS = 40; // a root with the customer and 39 costed children: 2,340 events
    for (let t = 0; t < TRACES; t++) {
      const traceId = hex(t + 1, 32);
      await postSpans(
        first.url,
        Array.from({ length: SPANS }, (_, i) => ({
          traceId,
          spanId: hex(i + 1, 16),
          ...(i === 0 ? {} : { parentSpanId: hex(1, 16) }),
          name: i === 0 ? 'POST /job' : `step ${i}`,
          startTimeUnixNano: at('2026-03-05T10:00:00Z'),
          endTimeUnixNano: at('2026-03-05T10:00:01Z'),
          attributes: i === 0 ? { 'customer.id': `c${t % 5}` } : { '_cost.amount': `${i}.25` },
        })),
      );
    }
    const expected = TRACES * (SPANS - 1);
    await until('part of the outbox to be sent', () => polar !== undefined && polar.events.size > 0, 60_000);
    expect(polar.events.size).toBeLessThan(expected);
    first.child.kill('SIGKILL');
    await first.exited;
    polar.setDelay(0);
    const second = await spawnCollector(['--port', '0', '--db', db], env);
    try {
      await until('every cost to reach Polar', () => polar?.events.size === expected, 60_000);
      await until(
        'the outbox to drain',
        async () => {
          const f = (await (await fetch(`${second.url}/v1/forwarding`)).json()) as { pending: number };
          return f.pending === 0;
        },
        30_000,
      );
      // Exactly once on Polar's side, the right amounts for the right customers.
      let total = 0n;
      for (let t = 0; t < TRACES; t++) {
        for (let i = 1; i < SPANS; i++) {
          const e = polar.events.get(`${hex(t + 1, 32)}:${hex(i + 1, 16)}`);
          expect(e?.external_customer_id).toBe(`c${t % 5}`);
          expect(e?.metadata._cost).toEqual({ amount: `${i}.25`, currency: 'usd' });
          total += BigInt(i);
        }
      }
      expect(total).toBe(BigInt(TRACES * ((SPANS - 1) * SPANS)) / 2n);
      const f = (await (await fetch(`${second.url}/v1/forwarding`)).json()) as { sent: number; parked: number };
      expect(f.parked).toBe(0);
      expect(f.sent).toBeGreaterThanOrEqual(expected);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
