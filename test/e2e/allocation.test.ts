/**
 * Fixed bills (price book `fixed`, docs/contract.md §8) are allocated per closed UTC day: each day's share of the
 * bill (a month bill ÷ days in that month; another currency at that day's rate) is split even / proportionally
 * (count, duration, cost; with a span filter) / by weights among the day's customers, exactly, with largest
 * remainder rounding — and a day with nobody to split among goes to unattributed. The expected parts are
 * computed here from rationals, independently of the collector's code, and a few are written out by hand.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../helpers/collector.ts';
import { jsonRequest } from '../helpers/otlp.ts';

const P = 10n ** 12n; // picocents per cent
const at = (iso: string) => String(BigInt(Date.parse(iso)) * 1_000_000n);
const micros = (iso: string) => BigInt(Date.parse(iso)) * 1000n;
/** 2026-04-03 02:00 UTC: every day up to 2026-04-02 has closed (and its hour of grace passed); the 3rd has not. */
const NOW = micros('2026-04-03T02:00:00Z');

const BOOK = {
  fixed: [
    {
      name: 'postgres',
      amount_cents: '300000',
      period: 'month',
      allocate: { method: 'proportional', measure: { spans: { 'db.system': 'postgresql' }, by: 'duration_ms' } },
    },
    { name: 'support', amount_cents: '1000', period: 'day', allocate: { method: 'even' } },
    {
      name: 'sso',
      amount_cents: '450',
      period: 'day',
      allocate: { method: 'weights', weights: { acme: 3, globex: 1.5, hooli: 5 } },
    },
    {
      name: 'gateway',
      amount_cents: '31000',
      currency: 'EUR',
      period: 'month',
      allocate: { method: 'proportional', measure: { by: 'cost' } },
    },
    {
      name: 'queue',
      amount_cents: '70',
      period: 'day',
      allocate: { method: 'proportional', measure: { by: 'count' } },
    },
  ],
  fx: [{ currency: 'EUR', date: '2026-03-01', usd_per_unit: '1.0842' }],
};

interface SpanSpec {
  customer: string | null;
  ms: number;
  attributes?: Record<string, string | number>;
}

/** Day → spans (one trace each: a root carrying the customer). */
const SPANS: Record<string, SpanSpec[]> = {
  '2026-03-30': [
    { customer: 'acme', ms: 30, attributes: { 'db.system': 'postgresql', '_cost.amount': '2' } },
    { customer: 'acme', ms: 10, attributes: { 'db.system': 'postgresql', '_cost.amount': '1' } },
    { customer: 'acme', ms: 500, attributes: { 'db.system': 'redis' } },
    { customer: 'globex', ms: 20, attributes: { 'db.system': 'postgresql', '_cost.amount': '1' } },
  ],
  // Only a span nobody can be given: every bill of the day stays unattributed.
  '2026-03-31': [{ customer: null, ms: 5, attributes: { 'db.system': 'postgresql', '_cost.amount': '1' } }],
  // 2026-04-01: no record at all.
  '2026-04-02': [
    { customer: 'hooli', ms: 7, attributes: { 'db.system': 'postgresql', '_cost.amount': '0.3' } },
    { customer: 'globex', ms: 3, attributes: { 'db.system': 'mysql', '_cost.amount': '0.1' } },
    { customer: 'globex', ms: 1, attributes: {} },
  ],
  // Today: not closed, never allocated yet.
  '2026-04-03': [{ customer: 'acme', ms: 9, attributes: { 'db.system': 'postgresql', '_cost.amount': '5' } }],
};
/** Customers active only through events (revenue): they count for `even`, not for span measures. */
const EVENTS: Record<string, string[]> = { '2026-03-30': ['initech'] };

async function send(c: TestCollector): Promise<void> {
  let n = 0;
  const spans = Object.entries(SPANS).flatMap(([day, list]) =>
    list.map((s) => {
      n++;
      return {
        traceId: n.toString(16).padStart(32, '0'),
        spanId: n.toString(16).padStart(16, '0'),
        name: `job ${n}`,
        startTimeUnixNano: at(`${day}T10:00:00Z`),
        endTimeUnixNano: String(BigInt(at(`${day}T10:00:00Z`)) + BigInt(s.ms) * 1_000_000n),
        attributes: { ...(s.customer ? { 'customer.id': s.customer } : {}), ...s.attributes },
      };
    }),
  );
  const traces = await fetch(`${c.url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(jsonRequest(spans)),
  });
  expect(traces.status).toBe(200);
  const events = Object.entries(EVENTS).flatMap(([day, ids]) =>
    ids.map((id) => ({ name: 'signup', external_customer_id: id, timestamp: `${day}T08:00:00Z`, metadata: {} })),
  );
  const ev = await fetch(`${c.url}/v1/events/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  });
  expect(ev.status).toBe(200);
}

// ---- the reference: rationals and largest remainder, written for this test ----

function halfEven(num: bigint, den: bigint): bigint {
  const q = num / den;
  const r2 = 2n * (num % den);
  return r2 > den || (r2 === den && q % 2n === 1n) ? q + 1n : q;
}

function expectedParts(share: bigint, weights: Record<string, bigint>): Record<string, bigint> {
  const ids = Object.keys(weights).filter((id) => (weights[id] as bigint) > 0n);
  const sum = ids.reduce((s, id) => s + (weights[id] as bigint), 0n);
  if (sum === 0n) return { '': share };
  const out: Record<string, bigint> = {};
  for (const id of ids) out[id] = (share * (weights[id] as bigint)) / sum;
  let left = share - Object.values(out).reduce((s, v) => s + v, 0n);
  const order = [...ids].sort((a, b) => {
    const ra = (share * (weights[a] as bigint)) % sum;
    const rb = (share * (weights[b] as bigint)) % sum;
    return ra === rb ? (a < b ? -1 : 1) : ra > rb ? -1 : 1;
  });
  for (const id of order) {
    if (left === 0n) break;
    out[id] = (out[id] as bigint) + 1n;
    left--;
  }
  return out;
}

function expectedDay(day: string): Record<string, Record<string, bigint>> {
  const spans = SPANS[day] ?? [];
  const active = new Set([...spans.flatMap((s) => (s.customer ? [s.customer] : [])), ...(EVENTS[day] ?? [])]);
  const by = (f: (s: SpanSpec) => bigint, keep: (s: SpanSpec) => boolean = () => true) => {
    const w: Record<string, bigint> = {};
    for (const s of spans) if (s.customer && keep(s)) w[s.customer] = (w[s.customer] ?? 0n) + f(s);
    return w;
  };
  const monthDays = BigInt(new Date(Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)), 0)).getUTCDate());
  const cents = (s: SpanSpec) => BigInt(Math.round(Number(s.attributes?.['_cost.amount'] ?? 0) * 10)) * (P / 10n);
  const sso = Object.fromEntries(
    Object.entries({ acme: 3n * P, globex: 15n * (P / 10n), hooli: 5n * P }).filter(([id]) => active.has(id)),
  );
  const gatewayEur = halfEven(31000n * P, monthDays);
  return {
    postgres: expectedParts(
      halfEven(300000n * P, monthDays),
      by(
        (s) => BigInt(s.ms),
        (s) => s.attributes?.['db.system'] === 'postgresql',
      ),
    ),
    support: expectedParts(1000n * P, Object.fromEntries([...active].map((id) => [id, 1n]))),
    sso: expectedParts(450n * P, sso),
    gateway: expectedParts(halfEven(gatewayEur * 10842n, 10000n), by(cents)),
    queue: expectedParts(
      70n * P,
      by(() => 1n),
    ),
  };
}

// ---- reading what the collector stored ----

/** bill → customer ('' = unattributed) → picocents, read from the DuckDB file's allocation records of a day. */
async function storedDay(dbPath: string, day: string): Promise<Record<string, Record<string, bigint>>> {
  const instance = await DuckDBInstance.create(dbPath, { access_mode: 'READ_ONLY' });
  const conn = await instance.connect();
  try {
    const rows = (
      await conn.runAndReadAll(
        `SELECT name, coalesce(customer_id, ''), cost_amount::VARCHAR, cost_source FROM records
         WHERE source = 'allocation' AND ts::DATE = ?::DATE`,
        [day],
      )
    ).getRows();
    const out: Record<string, Record<string, bigint>> = {};
    for (const [bill, customer, cost, source] of rows) {
      expect(source).toBe('allocated');
      const [whole, frac = ''] = String(cost).split('.');
      const parts = out[String(bill)] ?? {};
      parts[String(customer)] = BigInt(whole as string) * P + BigInt(frac.padEnd(12, '0'));
      out[String(bill)] = parts;
    }
    return out;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

describe('fixed-cost allocation', () => {
  let c: TestCollector;
  let dbPath: string;
  beforeAll(async () => {
    c = await startTestCollector({ nowMicros: () => NOW, allocationIntervalMs: 3_600_000 });
    dbPath = c.dbPath;
    await send(c);
    const put = await fetch(`${c.url}/v1/prices`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(BOOK),
    });
    expect(put.status).toBe(200);
  });
  afterAll(async () => c?.close());

  it('allocates every closed day exactly: even, weights, proportional by duration (filtered), cost and count', async () => {
    const tally = await c.collector.runAllocation();
    expect(tally).toMatchObject({ days: 4, problems: [] });
    // Nothing left to do: every closed day is allocated once.
    expect(await c.collector.runAllocation()).toMatchObject({ days: 0, changed: 0 });
    await c.close(false);
    for (const day of ['2026-03-30', '2026-03-31', '2026-04-01', '2026-04-02']) {
      const stored = await storedDay(dbPath, day);
      expect({ day, stored }).toEqual({ day, stored: expectedDay(day) });
      // Each bill's parts add up to its prorated day share, to the picocent.
      for (const [bill, parts] of Object.entries(stored)) {
        const sum = Object.values(parts).reduce((s, v) => s + v, 0n);
        const share = Object.values(expectedDay(day)[bill] ?? {}).reduce((s, v) => s + v, 0n);
        expect(sum).toBe(share);
      }
    }
    expect(await storedDay(dbPath, '2026-04-03')).toEqual({});
    // Written out by hand for 2026-03-30: 300000 / 31 = 9677.419354838709677… → …710; acme 40 ms, globex 20 ms.
    const day = await storedDay(dbPath, '2026-03-30');
    expect(day.postgres).toEqual({ acme: 6451_612903225807n, globex: 3225_806451612903n });
    expect(day.support).toEqual({ acme: 333_333333333334n, globex: 333_333333333333n, initech: 333_333333333333n });
    expect(day.sso).toEqual({ acme: 300n * P, globex: 150n * P });
    // 1000 EUR a day at 1.0842, split 3 : 1 by cost
    expect(day.gateway).toEqual({ acme: 813_150000000000n, globex: 271_050000000000n });
    // 1.5 per 2026-03-31 and 2026-04-01: everything unattributed
    expect(
      Object.values(await storedDay(dbPath, '2026-04-01')).every((parts) => Object.keys(parts).join() === ''),
    ).toBe(true);
    c = await startTestCollector({ dbPath, nowMicros: () => NOW, allocationIntervalMs: 3_600_000 });
  });

  it('shows allocated cost in costs, allocated_costs per customer and a cost-driver line per bill', async () => {
    const get = async (q: string) => (await fetch(`${c.url}${q}`)).json() as Promise<Record<string, unknown>>;
    const customers = (await get('/v1/metrics/customers?start_date=2026-03-30&end_date=2026-03-30&sort=-costs'))
      .items as Array<{ customer_id: string; costs_exact: string; allocated_costs_exact: string }>;
    const acme = customers.find((x) => x.customer_id === 'acme');
    // acme on 2026-03-30: own spans 3 cents + postgres 6451.612903225807 + support 333.333333333334 + sso 300
    // + gateway 813.15 + queue 70 × 3/4 = 52.5
    expect(acme).toMatchObject({ allocated_costs_exact: '7950.596236559141', costs_exact: '7953.596236559141' });
    const initech = customers.find((x) => x.customer_id === 'initech');
    expect(initech).toMatchObject({ allocated_costs_exact: '333.333333333333', costs_exact: '333.333333333333' });
    const drivers = (await get('/v1/cost-drivers?start_date=2026-03-30&end_date=2026-04-02&group_by=vendor'))
      .groups as Array<{ key: string; records: number; outliers: unknown[] }>;
    // The spans' own costs have no vendor (null); each bill is a line of its own.
    expect(drivers.map((g) => g.key ?? '(spans)').sort()).toEqual([
      '(spans)',
      'gateway',
      'postgres',
      'queue',
      'sso',
      'support',
    ]);
    expect(drivers.filter((g) => g.key !== null).every((g) => g.outliers.length === 0)).toBe(true);
    // Metrics: the day's costs are the spans' own plus every bill's whole day share.
    const metrics = (await get('/v1/metrics?start_date=2026-04-01&end_date=2026-04-01&interval=day&metrics=costs'))
      .totals as { costs: number };
    const april1 = Object.values(expectedDay('2026-04-01')).reduce(
      (s, parts) => s + Object.values(parts).reduce((a, v) => a + v, 0n),
      0n,
    );
    expect(metrics.costs).toBeCloseTo(Number(april1) / 1e12, 6);
  });

  it('re-allocates on re-price with the book in force, only what changed, and only once', async () => {
    const changed = { ...BOOK, fixed: BOOK.fixed.filter((f) => f.name !== 'queue').map((f) => ({ ...f })) };
    (changed.fixed.find((f) => f.name === 'support') as { amount_cents: string }).amount_cents = '1200';
    const put = await fetch(`${c.url}/v1/prices`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(changed),
    });
    expect(put.status).toBe(200);
    const reprice = async () =>
      (
        await fetch(`${c.url}/v1/prices/reprice`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ start_date: '2026-03-01', end_date: '2026-04-30' }),
        })
      ).json() as Promise<{ allocations: { days: number; changed: number; delta_cents_exact: string } }>;
    const first = await reprice();
    // 4 closed days; support +200 a day, queue (70 a day) gone; every record's book version changes.
    expect(first.allocations.days).toBe(4);
    expect(first.allocations.delta_cents_exact).toBe(String(4 * (200 - 70)));
    const second = await reprice();
    expect(second.allocations).toMatchObject({ days: 4, changed: 0, delta_cents_exact: '0' });
    await c.close(false);
    const day = await storedDay(dbPath, '2026-03-30');
    expect(day.queue).toBeUndefined();
    expect(day.support).toEqual({ acme: 400n * P, globex: 400n * P, initech: 400n * P });
  });
});
