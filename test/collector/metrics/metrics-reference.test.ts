/**
 * A generated dataset (many customers; spans and events; costs, revenue and refunds; several time zones)
 * checked against an independent reference written here: per-record local dates from Intl, plain bigint
 * arithmetic — no SQL, none of the collector's calendar code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../../helpers/collector.ts';
import { jsonRequest, type SpanSpec } from '../../helpers/otlp.ts';
import { seededRandom } from '../../helpers/random.ts';

interface Rec {
  customer: string;
  tsMs: number;
  cost: bigint; // picocents
  revenue: bigint;
  model: string | null;
}

const PICO = 10n ** 12n;
const START_2024 = Date.UTC(2024, 0, 1);

const rand = seededRandom(20261127);
const customers = Array.from({ length: 30 }, (_, i) => `gen-${i}`);
const records: Rec[] = [];
const events: unknown[] = [];
const spanRequests: unknown[] = [];
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;
const money = () => BigInt(Math.floor(rand() * 1e9)) * 1000n; // up to 1000 cents, 9 decimals
const dec = (p: bigint) => {
  const neg = p < 0n;
  const a = neg ? -p : p;
  return `${neg ? '-' : ''}${a / PICO}.${(a % PICO).toString().padStart(12, '0')}`;
};

for (let i = 0; i < 900; i++) {
  const customer = pick(customers);
  const tsMs = START_2024 + Math.floor(rand() * 366 * 86_400_000);
  const kind = rand();
  const iso = new Date(tsMs).toISOString();
  if (kind < 0.55) {
    const cost = money();
    const model = pick(['gpt-4o', 'gpt-4o-mini', 'claude-sonnet']);
    records.push({ customer, tsMs, cost, revenue: 0n, model });
    events.push({
      name: 'llm',
      external_customer_id: customer,
      timestamp: iso,
      metadata: {
        _cost: { amount: dec(cost), currency: 'usd' },
        _llm: { vendor: 'x', model, input_tokens: 1, output_tokens: 1, total_tokens: 2 },
      },
    });
  } else if (kind < 0.75) {
    const revenue = BigInt(Math.floor(rand() * 10000)) * PICO * (rand() < 0.15 ? -1n : 1n); // refunds
    records.push({ customer, tsMs, cost: 0n, revenue, model: null });
    events.push({
      name: 'order',
      external_customer_id: customer,
      timestamp: iso,
      metadata: { _revenue: { amount: Number(revenue / PICO), currency: 'usd' } },
    });
  } else {
    // a span trace: root names the customer, children carry cost and inherit it
    const traceId = (i + 1).toString(16).padStart(32, 'c');
    const spans: SpanSpec[] = [
      {
        traceId,
        spanId: '1'.padStart(16, '0'),
        startTimeUnixNano: String(BigInt(tsMs) * 1_000_000n),
        attributes: { 'customer.id': customer },
      },
    ];
    for (let k = 0; k < 3; k++) {
      const cost = money();
      const childTs = tsMs + k * 1000;
      records.push({ customer, tsMs: childTs, cost, revenue: 0n, model: 'gpt-4o' });
      spans.push({
        traceId,
        spanId: String(k + 2).padStart(16, '0'),
        parentSpanId: '1'.padStart(16, '0'),
        startTimeUnixNano: String(BigInt(childTs) * 1_000_000n),
        attributes: { '_cost.amount': dec(cost), 'gen_ai.request.model': 'gpt-4o' },
      });
    }
    // children first, root last: attribution must still be right
    spanRequests.push(jsonRequest(spans.slice(1)), jsonRequest(spans.slice(0, 1)));
  }
}

// ---- the reference ----

function localParts(tsMs: number, tz: string) {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
  }).formatToParts(new Date(tsMs));
  const g = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  return { y: g('year'), m: g('month'), d: g('day'), h: g('hour') };
}
const civil = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d) / 86_400_000;
const fromCivil = (n: number) => {
  const dt = new Date(n * 86_400_000);
  return { y: dt.getUTCFullYear(), m: dt.getUTCMonth() + 1, d: dt.getUTCDate() };
};
const p2 = (n: number) => String(n).padStart(2, '0');
type Interval = 'hour' | 'day' | 'week' | 'month' | 'year';

function bucketOf(l: { y: number; m: number; d: number; h: number }, interval: Interval): string {
  switch (interval) {
    case 'hour':
      return `${l.y}-${p2(l.m)}-${p2(l.d)}T${p2(l.h)}`;
    case 'day':
      return `${l.y}-${p2(l.m)}-${p2(l.d)}T00`;
    case 'week': {
      const n = civil(l.y, l.m, l.d);
      const monday = fromCivil(n - ((new Date(n * 86_400_000).getUTCDay() + 6) % 7));
      return `${monday.y}-${p2(monday.m)}-${p2(monday.d)}T00`;
    }
    case 'month':
      return `${l.y}-${p2(l.m)}-01T00`;
    case 'year':
      return `${l.y}-01-01T00`;
  }
}

function divHalfEven(a: bigint, b: bigint): bigint {
  const neg = a < 0n !== b < 0n;
  const [x, y] = [a < 0n ? -a : a, b < 0n ? -b : b];
  let q = x / y;
  const r2 = (x % y) * 2n;
  if (r2 > y || (r2 === y && q % 2n === 1n)) q += 1n;
  return neg ? -q : q;
}
const num = (p: bigint) => Number(dec(p));

function reference(start: string, end: string, interval: Interval, tz: string, only: string[] | null) {
  const [sy, sm, sd] = start.split('-').map(Number) as [number, number, number];
  const [ey, em, ed] = end.split('-').map(Number) as [number, number, number];
  const periods: string[] = [];
  for (let n = civil(sy, sm, sd); n <= civil(ey, em, ed); n++) {
    const c = fromCivil(n);
    const hours = interval === 'hour' ? 24 : 1;
    for (let h = 0; h < hours; h++) {
      const b = bucketOf({ ...c, h }, interval);
      if (!periods.includes(b)) periods.push(b);
    }
  }
  const first = periods[0] as string;
  const sums = new Map<string, { rev: bigint; cost: bigint; users: Set<string> }>();
  let revBefore = 0n;
  let costBefore = 0n;
  const all = new Set<string>();
  for (const r of records) {
    if (only && !only.includes(r.customer)) continue;
    const b = bucketOf(localParts(r.tsMs, tz), interval);
    if (b < first) {
      revBefore += r.revenue;
      costBefore += r.cost;
      continue;
    }
    if (!periods.includes(b)) continue;
    const s = sums.get(b) ?? { rev: 0n, cost: 0n, users: new Set<string>() };
    s.rev += r.revenue;
    s.cost += r.cost;
    s.users.add(r.customer);
    all.add(r.customer);
    sums.set(b, s);
  }
  let cumRev = revBefore;
  let cumCost = costBefore;
  let totRev = 0n;
  let totCost = 0n;
  const row = (rev: bigint, cost: bigint, users: number) => ({
    revenue: num(rev),
    cumulative_revenue: num(cumRev),
    costs: num(cost),
    cumulative_costs: num(cumCost),
    cashflow: num(rev - cost),
    gross_margin: num(cumRev - cumCost),
    gross_margin_percentage: cumRev > 0n ? num(divHalfEven((cumRev - cumCost) * PICO, cumRev)) : 0,
    active_user_by_event: users,
    cost_per_user: users > 0 ? num(divHalfEven(cost, BigInt(users))) : 0,
  });
  const out = periods.map((b) => {
    const s = sums.get(b) ?? { rev: 0n, cost: 0n, users: new Set() };
    cumRev += s.rev;
    cumCost += s.cost;
    totRev += s.rev;
    totCost += s.cost;
    return { bucket: b, ...row(s.rev, s.cost, s.users.size) };
  });
  return { periods: out, totals: row(totRev, totCost, all.size) };
}

// ---- the collector ----

let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector({ nowMicros: () => BigInt(Date.UTC(2026, 0, 1)) * 1000n });
  for (let i = 0; i < events.length; i += 200) {
    const res = await fetch(`${c.url}/v1/events/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: events.slice(i, i + 200) }),
    });
    expect(res.status).toBe(200);
  }
  for (const body of spanRequests) {
    const res = await fetch(`${c.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
  }
}, 120_000);
afterAll(async () => {
  await c.close();
});

describe('metrics agree exactly with an independent reference', () => {
  it.each([
    ['2024-03-01', '2024-04-30', 'day', 'UTC', null],
    ['2024-03-01', '2024-04-30', 'day', 'America/New_York', null],
    ['2024-01-01', '2024-12-31', 'month', 'Asia/Kolkata', null],
    ['2024-02-01', '2024-11-30', 'week', 'Australia/Adelaide', null],
    ['2024-10-25', '2024-10-31', 'hour', 'Europe/Berlin', null],
    ['2024-01-01', '2024-12-31', 'year', 'Pacific/Chatham', null],
    ['2024-06-01', '2024-09-30', 'day', 'Asia/Kathmandu', ['gen-1', 'gen-2', 'gen-3']],
    ['2024-01-01', '2024-12-31', 'month', 'UTC', ['gen-7']],
  ] as const)('%s..%s by %s in %s (customers %j)', async (start, end, interval, tz, only) => {
    const customerQuery = (only ?? []).map((x) => `&customer_id=${x}`).join('');
    const res = await fetch(
      `${c.url}/v1/metrics?start_date=${start}&end_date=${end}&interval=${interval}&timezone=${tz}${customerQuery}`,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { periods: Array<Record<string, unknown>>; totals: Record<string, number> };
    const want = reference(start, end, interval, tz, only ? [...only] : null);
    expect(body.periods.map((p) => String(p.timestamp).slice(0, 13))).toEqual(want.periods.map((p) => p.bucket));
    expect(body.periods.map(({ timestamp: _, ...rest }) => rest)).toEqual(
      want.periods.map(({ bucket: _, ...rest }) => rest),
    );
    expect(body.totals).toEqual(want.totals);
  });

  it('per-customer revenue, costs, profit, ltv and cost share agree', async () => {
    const res = await fetch(
      `${c.url}/v1/metrics/customers?start_date=2024-04-01&end_date=2024-09-30&sort=-profit&limit=100`,
    );
    const body = (await res.json()) as { items: Array<Record<string, unknown>> };
    const from = Date.UTC(2024, 3, 1);
    const to = Date.UTC(2024, 9, 1);
    const allCosts = records.filter((r) => r.tsMs >= from && r.tsMs < to).reduce((s, r) => s + r.cost, 0n);
    const want = customers
      .map((cust) => {
        const mine = records.filter((r) => r.customer === cust);
        const inWindow = mine.filter((r) => r.tsMs >= from && r.tsMs < to);
        const revenue = inWindow.reduce((s, r) => s + r.revenue, 0n);
        const costs = inWindow.reduce((s, r) => s + r.cost, 0n);
        const ltv = mine.filter((r) => r.tsMs < to).reduce((s, r) => s + r.revenue - r.cost, 0n);
        return {
          customer_id: cust,
          revenue: num(revenue),
          costs: num(costs),
          profit: num(revenue - costs),
          profitExact: revenue - costs,
          margin: revenue > 0n ? num(divHalfEven((revenue - costs) * PICO, revenue)) : null,
          ltv: num(ltv),
          cost_share: allCosts > 0n ? num(divHalfEven(costs * PICO, allCosts)) : 0,
          // no fixed bills in this dataset
          allocated_costs: 0,
          allocated_costs_exact: '0',
        };
      })
      .filter((x) => records.some((r) => r.customer === x.customer_id && r.tsMs < to))
      .sort((a, b) =>
        a.profitExact > b.profitExact ? -1 : a.profitExact < b.profitExact ? 1 : a.customer_id < b.customer_id ? -1 : 1,
      )
      .map(({ profitExact: _, ...rest }) => rest);
    expect(body.items.map(({ name: _n, created_at: _c, costs_exact: _e, ...rest }) => rest)).toEqual(want);
  });

  it('cost drivers by model agree on totals and shares', async () => {
    const res = await fetch(`${c.url}/v1/cost-drivers?start_date=2024-01-01&end_date=2024-12-31&group_by=model`);
    const body = (await res.json()) as {
      total_cost: number;
      groups: Array<{ key: string; cost: number; share: number }>;
    };
    const total = records.reduce((s, r) => s + r.cost, 0n);
    const byModel = new Map<string, bigint>();
    for (const r of records) if (r.cost > 0n && r.model) byModel.set(r.model, (byModel.get(r.model) ?? 0n) + r.cost);
    expect(body.total_cost).toBe(num(total));
    expect(
      Object.fromEntries(body.groups.filter((g) => g.key !== null).map((g) => [g.key, [g.cost, g.share]])),
    ).toEqual(Object.fromEntries([...byModel].map(([m, v]) => [m, [num(v), num(divHalfEven(v * PICO, total))]])));
  });
});
