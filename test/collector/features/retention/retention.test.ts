/**
 * Retention: with spans spread over 120 days, removing those older than 30 days changes no answer — metrics,
 * per-customer metrics, cost drivers (model, vendor, service, root_name), trace lists, exact decimals — and
 * survives a restart; a removed trace answers 410; spans waiting for an ancestor past the cutoff are settled.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportParquet } from '../../../../collector/export.ts';
import { formatPicocents, parseDecimalString } from '../../../../src/money.ts';
import { startTestCollector, type TestCollector } from '../../../helpers/collector.ts';
import { type DriversBody, expectDriversLike } from '../../../helpers/drivers.ts';
import { jsonRequest, type SpanSpec } from '../../../helpers/otlp.ts';

const DAY_S = 86_400;
const START_S = 1_735_689_600; // 2025-01-01T00:00:00Z
const NOW_MICROS = BigInt(START_S + 120 * DAY_S) * 1_000_000n; // 2025-05-01
const RETAIN_DAYS = 30;
let c: TestCollector;
let dbPath: string;

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const at = (day: number, second: number) => String(BigInt(START_S + day * DAY_S + second) * 1_000_000_000n);

function traceSpans(t: number): SpanSpec[] {
  const day = (t * 7) % 120;
  const traceId = hex(t + 1, 32);
  const customer = ['acme', 'globex', 'initech', 'umbrella'][t % 4] as string;
  const root: SpanSpec = {
    traceId,
    spanId: hex(1, 16),
    name: t % 3 === 0 ? 'POST /answer' : 'GET /report',
    startTimeUnixNano: at(day, 100 + t),
    endTimeUnixNano: at(day, 101 + t),
    attributes: t % 9 === 0 ? {} : { 'customer.id': customer, '_revenue.amount': t % 5 === 0 ? 990 : 0 },
  };
  const llm: SpanSpec = {
    traceId,
    spanId: hex(2, 16),
    parentSpanId: hex(1, 16),
    name: 'chat',
    startTimeUnixNano: at(day, 110 + t),
    endTimeUnixNano: at(day, 111 + t),
    attributes: {
      'gen_ai.system': t % 2 === 0 ? 'openai' : 'anthropic',
      'gen_ai.request.model': t % 2 === 0 ? 'gpt-4o' : 'claude-3-5-sonnet-20241022',
      'gen_ai.usage.input_tokens': 1000 + t * 13,
      'gen_ai.usage.output_tokens': 100 + t,
    },
  };
  const mail: SpanSpec = {
    traceId,
    spanId: hex(3, 16),
    parentSpanId: hex(1, 16),
    name: 'POST /v3/mail/send',
    // Some traces run past midnight: their child lands on the next day.
    startTimeUnixNano: at(day + (t % 5 === 0 ? 1 : 0), 200 + t),
    endTimeUnixNano: at(day + (t % 5 === 0 ? 1 : 0), 201 + t),
    attributes: { '_cost.amount': { stringValue: `0.${t}000000001` } },
  };
  // A span whose parent never arrives: pending, with its resource's customer.
  const orphan: SpanSpec = {
    traceId,
    spanId: hex(4, 16),
    parentSpanId: hex(99, 16),
    name: 'orphan',
    startTimeUnixNano: at(day, 300),
    endTimeUnixNano: at(day, 301),
    attributes: { '_cost.amount': 0.25 },
  };
  return t % 6 === 0 ? [root, llm, mail, orphan] : [root, llm, mail];
}

const QUESTIONS = [
  '/v1/metrics?start_date=2025-01-01&end_date=2025-05-01&interval=week',
  '/v1/metrics?start_date=2025-01-01&end_date=2025-04-30&interval=month&timezone=America/New_York',
  '/v1/metrics?start_date=2025-02-01&end_date=2025-02-28&interval=day&customer_id=acme&customer_id=globex',
  '/v1/metrics/customers?start_date=2025-01-01&end_date=2025-04-30&sort=-costs',
  '/v1/metrics/customers?start_date=2025-02-10&end_date=2025-03-10&sort=profit&timezone=Asia/Kolkata',
  ...['model', 'vendor', 'service', 'root_name'].flatMap((g) => [
    `/v1/cost-drivers?start_date=2025-01-01&end_date=2025-04-30&group_by=${g}`,
    `/v1/cost-drivers?start_date=2025-01-15&end_date=2025-02-15&group_by=${g}&customer_id=initech&timezone=Asia/Kathmandu`,
  ]),
  '/v1/cost-drivers?start_date=2025-04-10&end_date=2025-04-30&group_by=span_name',
  '/v1/traces?sort=-cost&limit=1000',
  '/v1/traces?sort=start_time&limit=50&offset=10',
  '/v1/traces?customer_id=acme&start_date=2025-01-01&end_date=2025-03-31&sort=-start_time',
  '/v1/traces?start_date=2025-02-01&end_date=2025-02-10',
];

/**
 * Every question's answer. Cost drivers are kept exact (`quantiles=exact`); their default answer — from the day
 * index's sketch once days are indexed, e.g. after the restart — must match it within the sketch's bound.
 */
async function answers(url: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const q of QUESTIONS) {
    const drivers = q.startsWith('/v1/cost-drivers');
    const res = await fetch(`${url}${q}${drivers ? '&quantiles=exact' : ''}`);
    expect({ q, status: res.status }).toEqual({ q, status: 200 });
    out[q] = await res.json();
    if (drivers) {
      const auto = await fetch(`${url}${q}`);
      expect({ q, status: auto.status }).toEqual({ q, status: 200 });
      expectDriversLike((await auto.json()) as DriversBody, out[q] as DriversBody, q);
    }
  }
  return out;
}

beforeAll(async () => {
  c = await startTestCollector({ nowMicros: () => NOW_MICROS, retainSpansDays: RETAIN_DAYS });
  dbPath = c.dbPath;
  const spans = Array.from({ length: 120 }, (_, t) => traceSpans(t)).flat();
  for (let i = 0; i < spans.length; i += 100) {
    const res = await fetch(`${c.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        jsonRequest(spans.slice(i, i + 100), { 'service.name': 'api', 'customer.id': 'resource-co' }),
      ),
    });
    expect(res.status).toBe(200);
  }
  const events = await fetch(`${c.url}/v1/events/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      events: [
        {
          name: 'order.paid',
          external_customer_id: 'acme',
          timestamp: '2025-01-20T10:00:00Z',
          metadata: { _revenue: { amount: 4900, currency: 'usd' } },
        },
        {
          name: 'support',
          external_customer_id: 'globex',
          timestamp: '2025-04-20T10:00:00Z',
          metadata: { _cost: { amount: '1.5', currency: 'usd' } },
        },
      ],
    }),
  });
  expect(events.status).toBe(200);
});
afterAll(async () => {
  await c.close();
});

describe('retention', () => {
  it('removes spans older than the window and every answer stays exactly the same, also after a restart', async () => {
    const before = await answers(c.url);
    const pendingBefore = await count(`attribution_pending AND ts < TIMESTAMP '2025-04-01'`);
    expect(pendingBefore).toBeGreaterThan(0);
    const removed = await c.collector.runRetention();
    expect(removed).toBeGreaterThan(200);
    expect(await count(`source = 'span' AND ts < TIMESTAMP '2025-04-01'`)).toBe(0);
    expect(await count(`source = 'span'`)).toBeGreaterThan(0);
    expect(await count(`source = 'event'`)).toBe(2);
    expect(await count('attribution_pending')).toBe(
      await count(`attribution_pending AND ts >= TIMESTAMP '2025-04-01'`),
    );
    expect(c.collector.queue.pendingAttribution).toBe(await count('attribution_pending'));
    expect(await answers(c.url)).toEqual(before);
    // Again (nothing more to remove), and after a restart on the same file.
    expect(await c.collector.runRetention()).toBe(0);
    await c.collector.close();
    c = await startTestCollector({ dbPath, nowMicros: () => NOW_MICROS, retainSpansDays: RETAIN_DAYS });
    expect(await answers(c.url)).toEqual(before);
  });

  it('answers 410 for a trace past retention, and serves recent traces whole', async () => {
    const old = await fetch(`${c.url}/v1/traces/${hex(1 + 1, 32)}`); // day 7
    expect(old.status).toBe(410);
    expect(((await old.json()) as { message: string }).message).toContain('is past retention');
    const recent = await fetch(`${c.url}/v1/traces/${hex(17 + 1, 32)}`); // day 119
    expect(recent.status).toBe(200);
    expect(((await recent.json()) as { span_count: number }).span_count).toBe(3);
    expect((await fetch(`${c.url}/v1/traces/${'f'.repeat(32)}`)).status).toBe(404);
  });
});

async function count(where: string): Promise<number> {
  return c.collector.db.read(async (conn) =>
    Number((await conn.runAndReadAll(`SELECT count(*) FROM records WHERE ${where}`)).getRows()[0]?.[0]),
  );
}

describe('export after retention', () => {
  it('exports every trace, removed ones from their summaries, with the same totals as the trace list', async () => {
    const list = (await (await fetch(`${c.url}/v1/traces?sort=-cost&limit=1000`)).json()) as {
      items: Array<{ cost_exact: string }>;
      pagination: { total_count: number };
    };
    await c.collector.close();
    const out = mkdtempSync(join(tmpdir(), 'costtrace-retention-export-'));
    try {
      await exportParquet({ dbPath, outDir: join(out, 'x') });
      const instance = await DuckDBInstance.create(':memory:');
      const conn = await instance.connect();
      const rows = (
        await conn.runAndReadAll(
          `SELECT count(*), sum(total_cost)::VARCHAR FROM read_parquet('${join(out, 'x')}/traces/traces.parquet')`,
        )
      ).getRows();
      conn.closeSync();
      instance.closeSync();
      const total = list.items.reduce(
        (n, t) => n + (parseDecimalString(t.cost_exact) as { picocents: bigint }).picocents,
        0n,
      );
      const exported = (parseDecimalString(String(rows[0]?.[1])) as { picocents: bigint }).picocents;
      expect([rows[0]?.[0], formatPicocents(exported)]).toEqual([
        BigInt(list.pagination.total_count),
        formatPicocents(total),
      ]);
    } finally {
      rmSync(out, { recursive: true, force: true });
      c = await startTestCollector({ dbPath, nowMicros: () => NOW_MICROS, retainSpansDays: RETAIN_DAYS });
    }
  });
});

describe('retention (property)', () => {
  it('cost drivers and trace lists from summaries equal those from raw spans, for any data and cutoff', async () => {
    const { default: fc } = await import('fast-check');
    const spanGen = fc.record({
      trace: fc.nat({ max: 7 }),
      day: fc.nat({ max: 40 }),
      root: fc.boolean(),
      customer: fc.constantFrom('a', 'b', null),
      model: fc.constantFrom('m1', 'm2', null),
      cost: fc.bigInt({ min: 0n, max: 10n ** 15n }),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(spanGen, { minLength: 1, maxLength: 40 }), fc.nat({ max: 40 }), async (spans, keep) => {
        run++;
        const now = BigInt(START_S + 41 * DAY_S) * 1_000_000n;
        const p = await startTestCollector({ nowMicros: () => now, retainSpansDays: keep + 1 });
        try {
          const body = jsonRequest(
            spans.map((s, i) => ({
              traceId: hex(run * 100 + s.trace + 1, 32),
              spanId: hex(i + 1, 16),
              ...(s.root ? {} : { parentSpanId: hex(1000 + (i % 3), 16) }),
              name: `op${i % 3}`,
              startTimeUnixNano: at(s.day, i),
              endTimeUnixNano: at(s.day, i + 1),
              attributes: {
                '_cost.amount': { stringValue: `${s.cost}.5` },
                ...(s.customer === null ? {} : { 'customer.id': s.customer }),
                ...(s.model === null ? {} : { 'gen_ai.request.model': s.model, 'gen_ai.system': 'v' }),
              },
            })),
          );
          const res = await fetch(`${p.url}/v1/traces`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
          expect(res.status).toBe(200);
          const questions = [
            ...['model', 'vendor', 'service', 'root_name'].map(
              (g) => `/v1/cost-drivers?start_date=2025-01-01&end_date=2025-02-15&group_by=${g}`,
            ),
            '/v1/cost-drivers?start_date=2025-01-05&end_date=2025-01-20&group_by=root_name&customer_id=a',
            '/v1/traces?sort=-cost&limit=1000',
            '/v1/traces?customer_id=b&start_date=2025-01-03&end_date=2025-01-30&sort=start_time',
            '/v1/metrics/customers?start_date=2025-01-01&end_date=2025-02-15',
          ];
          const ask = async () => {
            const out: unknown[] = [];
            for (const q of questions) out.push(await (await fetch(`${p.url}${q}`)).json());
            return out;
          };
          const before = await ask();
          await p.collector.runRetention();
          expect(await ask()).toEqual(before);
        } finally {
          await p.close();
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 12) },
    );
  });
});
