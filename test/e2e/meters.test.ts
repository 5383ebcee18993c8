/**
 * Usage meters (docs/contract.md §11) against a running collector: quantities per period equal an independent
 * reference — local periods from `Intl.DateTimeFormat`, exact decimals as scaled bigints — in Asia/Kolkata
 * (+05:30) and America/New_York across both DST changes, for count / sum / max / unique, meters defined before
 * and after the data (the backfill), per customer, after a restart; spans waiting for their customer count live
 * and move to the customer when it arrives; `units` and `cost_per_unit` in `/v1/metrics/customers`; bad
 * definitions are refused with their locations.
 */

import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transaction } from '../../collector/db/transaction.ts';
import { parseMeter } from '../../collector/features/meters/definition.ts';
import { backfillChunk } from '../../collector/features/meters/meter-backfill.ts';
import { createMeter, MeterProjection } from '../../collector/features/meters/meters.ts';
import { startTestCollector, type TestCollector } from '../helpers/collector.ts';
import { post, postJson } from '../helpers/http.ts';
import { meterBackfilled } from '../helpers/meters.ts';
import { jsonRequest, type SpanSpec } from '../helpers/otlp.ts';
import { seededRandom } from '../helpers/random.ts';

const SCALE = 10n ** 12n;

/** Decimal text → value × 10^12 (the test's own parser: the reference shares no code with the collector). */
function scaled(text: string): bigint {
  const negative = text.startsWith('-');
  const [whole = '0', frac = ''] = text.replace('-', '').split('.');
  const v = BigInt(whole) * SCALE + BigInt((frac + '0'.repeat(12)).slice(0, 12));
  return negative ? -v : v;
}

function text(v: bigint): string {
  const negative = v < 0n;
  const abs = negative ? -v : v;
  const frac = (abs % SCALE).toString().padStart(12, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${abs / SCALE}${frac === '' ? '' : `.${frac}`}`;
}

interface Rec {
  kind: 'event' | 'span';
  name: string;
  customer: string;
  atMs: number;
  attrs: Record<string, string | number>;
}

const rnd = seededRandom(20260308);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
const CUSTOMERS = ['c1', 'c2', 'c3'];
/** Around the US DST start (2026-03-08) and end (2026-11-01), and Kolkata's fixed +05:30. */
const SPANS_OF_TIME: Array<[string, string]> = [
  ['2026-03-06T00:00:00Z', '2026-03-11T00:00:00Z'],
  ['2026-10-30T00:00:00Z', '2026-11-03T00:00:00Z'],
];

function makeRecords(n: number): Rec[] {
  const out: Rec[] = [];
  for (let i = 0; i < n; i++) {
    const [from, to] = pick(SPANS_OF_TIME);
    const atMs = Date.parse(from) + Math.floor(rnd() * (Date.parse(to) - Date.parse(from)));
    const customer = pick(CUSTOMERS);
    if (rnd() < 0.6) {
      out.push({
        kind: 'event',
        name: pick(['api.call', 'api.call', 'other']),
        customer,
        atMs,
        attrs: {
          tokens: pick([0.1, 0.2, 12.345, 7, 1000000.000001]),
          region: pick(['eu', 'us']),
          user: pick(['u1', 'u2', 'u3', 'u4', 'u5', 'u6']),
        },
      });
    } else {
      out.push({
        kind: 'span',
        name: pick(['chat', 'embed-batch']),
        customer,
        atMs,
        attrs: {
          'gen_ai.request.model': pick(['gpt-4o', 'claude']),
          'gen_ai.usage.input_tokens': Math.floor(rnd() * 5000),
          '_cost.amount': pick(['0.5', '1.25', '0.000001']),
        },
      });
    }
  }
  return out;
}

interface MeterDef {
  name: string;
  filter?: { event_name?: string; span_name?: string; attributes?: Record<string, string | number | boolean> };
  aggregation: { func: 'count' | 'sum' | 'max' | 'unique'; property?: string };
}

const DEFS: MeterDef[] = [
  {
    name: 'eu calls',
    filter: { event_name: 'api.call', attributes: { region: 'eu' } },
    aggregation: { func: 'count' },
  },
  { name: 'tokens', filter: { event_name: 'api.call' }, aggregation: { func: 'sum', property: 'tokens' } },
  {
    name: 'largest prompt',
    filter: { span_name: 'chat' },
    aggregation: { func: 'max', property: 'gen_ai.usage.input_tokens' },
  },
  { name: 'users', filter: { event_name: 'api.call' }, aggregation: { func: 'unique', property: 'user' } },
  {
    name: 'gpt-4o input tokens',
    filter: { attributes: { 'gen_ai.request.model': 'gpt-4o' } },
    aggregation: { func: 'sum', property: 'gen_ai.usage.input_tokens' },
  },
];

function matches(d: MeterDef, r: Rec): boolean {
  const f = d.filter ?? {};
  const named = f.event_name !== undefined || f.span_name !== undefined;
  if (named && !((r.kind === 'event' && r.name === f.event_name) || (r.kind === 'span' && r.name === f.span_name))) {
    return false;
  }
  return Object.entries(f.attributes ?? {}).every(([k, v]) => String(r.attrs[k]) === String(v));
}

/** Local period key in a zone: 'YYYY-MM-DD' (day) or 'YYYY-MM-DDTHH' (hour), from the tz database. */
function localKey(atMs: number, zone: string, interval: 'day' | 'hour'): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(atMs))
      .map((p) => [p.type, p.value]),
  );
  const day = `${parts.year}-${parts.month}-${parts.day}`;
  return interval === 'day' ? day : `${day}T${parts.hour}`;
}

/** The reference: quantity per local period and over all of `recs` (those in the window). */
function reference(d: MeterDef, recs: Rec[], zone: string, interval: 'day' | 'hour') {
  const groups = new Map<string, Rec[]>();
  const all: Rec[] = [];
  for (const r of recs) {
    if (!matches(d, r)) continue;
    const k = localKey(r.atMs, zone, interval);
    groups.set(k, [...(groups.get(k) ?? []), r]);
    all.push(r);
  }
  const quantity = (rs: Rec[]): bigint => {
    const values = rs.map((r) => r.attrs[d.aggregation.property ?? '']);
    switch (d.aggregation.func) {
      case 'count':
        return BigInt(rs.length) * SCALE;
      case 'sum':
        return values.reduce<bigint>((s, v) => s + scaled(String(v)), 0n);
      case 'max':
        return values.reduce<bigint>((m, v) => {
          const x = scaled(String(v));
          return x > m ? x : m;
        }, 0n);
      case 'unique':
        return BigInt(new Set(values.map(String)).size) * SCALE;
    }
  };
  const periods = new Map<string, string>();
  for (const [k, rs] of groups) periods.set(k, text(quantity(rs)));
  return { periods, total: text(quantity(all)) };
}

async function send(url: string, recs: Rec[]): Promise<void> {
  const events = recs.filter((r) => r.kind === 'event');
  const spans = recs.filter((r) => r.kind === 'span');
  if (events.length > 0) {
    const res = await post(`${url}/v1/events/ingest`, {
      events: events.map((r) => ({
        name: r.name,
        external_customer_id: r.customer,
        timestamp: new Date(r.atMs).toISOString(),
        metadata: r.attrs,
      })),
    });
    expect(res.status).toBe(200);
  }
  if (spans.length > 0) {
    const specs: SpanSpec[] = spans.map((r, i) => {
      seq++;
      const ns = String(BigInt(r.atMs) * 1_000_000n);
      return {
        traceId: seq.toString(16).padStart(32, '0'),
        spanId: (i + 1).toString(16).padStart(16, '0'),
        name: r.name,
        startTimeUnixNano: ns,
        endTimeUnixNano: ns,
        attributes: { ...r.attrs, 'customer.id': r.customer },
      };
    });
    const res = await post(`${url}/v1/traces`, jsonRequest(specs));
    expect(res.status).toBe(200);
  }
}
let seq = 0;

interface MeterView {
  id: string;
  backfill_complete: boolean;
  backfilled_through: string | null;
}

async function define(url: string, d: MeterDef, o: { wait: boolean } = { wait: true }): Promise<string> {
  const res = await post(`${url}/v1/meters`, d);
  const body = (await res.json()) as { id: string };
  expect(res.status).toBe(201);
  if (o.wait) await meterBackfilled(url, body.id);
  return body.id;
}

interface Quantities {
  periods: Array<{ timestamp: string; quantity: number; quantity_exact: string }>;
  total: number;
  total_exact: string;
}

async function quantities(url: string, id: string, query: string): Promise<Quantities> {
  const res = await fetch(`${url}/v1/meters/${id}/quantities?${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Quantities;
}

/** Non-zero periods keyed like the reference. */
function nonZero(q: Quantities, interval: 'day' | 'hour'): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of q.periods) {
    if (p.quantity_exact !== '0') out.set(p.timestamp.slice(0, interval === 'day' ? 10 : 13), p.quantity_exact);
  }
  return out;
}

describe('meters', () => {
  let c: TestCollector;
  const ids: string[] = [];
  const first = makeRecords(700);
  const second = makeRecords(500);
  const all = [...first, ...second];

  beforeAll(async () => {
    // Backfill chunks of 7 records: the first half takes ~100 writer turns per meter.
    c = await startTestCollector({ meterBackfillChunkRecords: 7 });
    // Two meters see the data arrive; the rest are defined after the first half, and the second half arrives
    // (over the same months, in 25 requests) while they are still measuring the first: some of it before their
    // cursor, some after.
    for (const d of DEFS.slice(0, 2)) ids.push(await define(c.url, d));
    await send(c.url, first);
    const later: string[] = [];
    for (const d of DEFS.slice(2)) later.push(await define(c.url, d, { wait: false }));
    ids.push(...later);
    const meters = async () => (await (await fetch(`${c.url}/v1/meters`)).json()) as { items: MeterView[] };
    const midway = (await meters()).items.filter((m) => later.includes(m.id) && !m.backfill_complete);
    for (let i = 0; i < second.length; i += 20) await send(c.url, second.slice(i, i + 20));
    for (const id of later) await meterBackfilled(c.url, id);
    // The test means something only if ingest did overlap the backfill.
    expect(midway.length).toBeGreaterThan(0);
  }, 60_000);
  afterAll(async () => {
    await c.close();
  });

  const cases: Array<{ zone: string; interval: 'day' | 'hour'; start: string; end: string }> = [
    { zone: 'Asia/Kolkata', interval: 'day', start: '2026-03-05', end: '2026-11-03' },
    { zone: 'America/New_York', interval: 'day', start: '2026-03-05', end: '2026-11-03' },
    { zone: 'America/New_York', interval: 'hour', start: '2026-03-07', end: '2026-03-09' },
    { zone: 'America/New_York', interval: 'hour', start: '2026-10-31', end: '2026-11-02' },
    { zone: 'Asia/Kolkata', interval: 'hour', start: '2026-03-08', end: '2026-03-09' },
  ];

  it('equals the reference for every aggregation, zone and interval (DST included)', async () => {
    for (const k of cases) {
      const fromMs = Date.parse(`${k.start}T00:00:00Z`) - 86_400_000;
      const toMs = Date.parse(`${k.end}T00:00:00Z`) + 2 * 86_400_000;
      for (const [i, d] of DEFS.entries()) {
        const q = await quantities(
          c.url,
          ids[i] as string,
          `start_date=${k.start}&end_date=${k.end}&interval=${k.interval}&timezone=${encodeURIComponent(k.zone)}`,
        );
        // Only records inside the local window count: the reference filters by the same local dates.
        const inWindow = all.filter((r) => {
          if (r.atMs < fromMs || r.atMs > toMs) return false;
          const day = localKey(r.atMs, k.zone, 'day');
          return day >= k.start && day <= k.end;
        });
        const want = reference(d, inWindow, k.zone, k.interval);
        expect({ meter: d.name, ...k, periods: nonZero(q, k.interval) }).toEqual({
          meter: d.name,
          ...k,
          periods: want.periods,
        });
        expect(q.total_exact, `${d.name} total in ${k.zone}`).toBe(want.total);
        expect(q.total).toBeCloseTo(Number(want.total), 6);
      }
    }
  });

  it('answers per customer, and hour periods name the zone offset of each side of the DST change', async () => {
    const q = await quantities(
      c.url,
      ids[1] as string,
      'start_date=2026-03-05&end_date=2026-11-03&interval=month&timezone=UTC&customer_id=c2',
    );
    const want = reference(
      DEFS[1] as MeterDef,
      all.filter((r) => r.customer === 'c2'),
      'UTC',
      'day',
    );
    expect(q.total_exact).toBe(want.total);
    const hours = await quantities(
      c.url,
      ids[0] as string,
      'start_date=2026-03-08&end_date=2026-03-08&interval=hour&timezone=America%2FNew_York',
    );
    expect(hours.periods[0]?.timestamp).toBe('2026-03-08T00:00:00-05:00');
    expect(hours.periods.at(-1)?.timestamp).toBe('2026-03-08T23:00:00-04:00');
  });

  it('adds units and cost per unit to /v1/metrics/customers', async () => {
    const res = await fetch(
      `${c.url}/v1/metrics/customers?start_date=2026-03-01&end_date=2026-11-30&meter=${ids[4]}&limit=10`,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      items: Array<{ customer_id: string; costs_exact: string; units_exact: string; cost_per_unit: number | null }>;
    };
    expect(body.items.map((i) => i.customer_id).sort()).toEqual(CUSTOMERS);
    for (const item of body.items) {
      const mine = all.filter((r) => r.customer === item.customer_id);
      const units = reference(DEFS[4] as MeterDef, mine, 'UTC', 'day').total;
      expect(item.units_exact).toBe(units);
      const costs = mine
        .filter((r) => r.kind === 'span')
        .reduce((s, r) => s + scaled(String(r.attrs['_cost.amount'])), 0n);
      expect(item.costs_exact).toBe(text(costs));
      expect(item.cost_per_unit).toBeCloseTo(Number(text(costs)) / Number(units), 9);
    }
    const unknown = await fetch(`${c.url}/v1/metrics/customers?start_date=2026-03-01&end_date=2026-03-02&meter=nope`);
    expect(unknown.status).toBe(404);
  });

  it('keeps measuring after a restart, and a deleted meter is gone', async () => {
    await c.close(false);
    c = await startTestCollector({ dbPath: c.dbPath });
    const extra = makeRecords(50).map((r) => ({ ...r, atMs: Date.parse('2026-03-09T12:00:00Z') }));
    await send(c.url, extra);
    all.push(...extra);
    const q = await quantities(c.url, ids[0] as string, 'start_date=2026-03-01&end_date=2026-11-30&interval=month');
    expect(q.total_exact).toBe(reference(DEFS[0] as MeterDef, all, 'UTC', 'day').total);
    const list = (await (await fetch(`${c.url}/v1/meters`)).json()) as { items: Array<{ id: string }> };
    expect(list.items.map((m) => m.id)).toEqual(ids);
    const del = await fetch(`${c.url}/v1/meters/${ids[3]}`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect((await fetch(`${c.url}/v1/meters/${ids[3]}`)).status).toBe(404);
    expect((await fetch(`${c.url}/v1/meters/${ids[3]}`, { method: 'DELETE' })).status).toBe(404);
    expect(
      (await fetch(`${c.url}/v1/meters/${ids[3]}/quantities?start_date=2026-03-01&end_date=2026-03-02&interval=day`))
        .status,
    ).toBe(404);
  });
});

describe('meters measuring the records stored before them', () => {
  const postSpans = (url: string, spans: SpanSpec[]) => post(`${url}/v1/traces`, jsonRequest(spans));
  let n = 0;
  const spanAt = (iso: string): SpanSpec => {
    n++;
    return {
      traceId: n.toString(16).padStart(32, '0'),
      spanId: n.toString(16).padStart(16, '0'),
      name: 'work',
      startTimeUnixNano: String(BigInt(Date.parse(iso)) * 1_000_000n),
      attributes: { 'customer.id': 'acme' },
    };
  };

  it('measures a record arriving mid-backfill once: before the cursor at once, from it on by the backfill', async () => {
    const c = await startTestCollector();
    try {
      await postSpans(c.url, ['2026-01-01T10:00:00Z', '2026-01-02T10:00:00Z', '2026-01-03T10:00:00Z'].map(spanAt));
      // Defined on the writer directly (not through the API, which starts the backfill at once), then its
      // backfill is driven one chunk at a time.
      const parsed = parseMeter({ name: 'all', aggregation: { func: 'count' } }, 'm-1', 0n);
      if (!parsed.ok) throw new Error('meter');
      const meter = parsed.meter;
      const q = c.collector.queue;
      const meters = await q.exclusive(async (_conn, _customers, projections) =>
        projections.all.find((p): p is MeterProjection => p instanceof MeterProjection),
      );
      if (!meters) throw new Error('the writer has no meter projection');
      await q.exclusive((conn) =>
        transaction(conn, async (afterCommit) => {
          await createMeter(conn, meter);
          afterCommit(() => meters.set([...meters.meters, meter]));
        }),
      );
      const jan2 = BigInt(Date.parse('2026-01-02T00:00:00Z')) * 1000n;
      expect(await q.exclusive((conn) => backfillChunk(conn, meters, meter.id, jan2))).toBe(true);
      // Arriving now: one in the last slot before the cursor (measured by the write path), two in the cursor's
      // slot and one later (left to the backfill).
      await postSpans(
        c.url,
        ['2026-01-01T23:59:00Z', '2026-01-02T00:00:00Z', '2026-01-02T00:10:00Z', '2026-01-05T08:00:00Z'].map(spanAt),
      );
      const days = async () =>
        Object.fromEntries(
          (await quantities(c.url, meter.id, 'start_date=2026-01-01&end_date=2026-01-05&interval=day')).periods.map(
            (p) => [p.timestamp.slice(0, 10), p.quantity],
          ),
        );
      expect(await days()).toEqual({
        '2026-01-01': 2,
        '2026-01-02': 0,
        '2026-01-03': 0,
        '2026-01-04': 0,
        '2026-01-05': 0,
      });
      expect(await q.exclusive((conn) => backfillChunk(conn, meters, meter.id, null))).toBe(true);
      expect(await days()).toEqual({
        '2026-01-01': 2,
        '2026-01-02': 3,
        '2026-01-03': 1,
        '2026-01-04': 0,
        '2026-01-05': 1,
      });
      // Complete: nothing more to do, and new records are measured at once.
      expect(await q.exclusive((conn) => backfillChunk(conn, meters, meter.id, null))).toBe(false);
      await postSpans(c.url, [spanAt('2026-01-04T12:00:00Z')]);
      expect((await days())['2026-01-04']).toBe(1);
    } finally {
      await c.close();
    }
  });

  it('resumes after a restart where it stopped, and ends with every record once', async () => {
    const first = await startTestCollector({ meterBackfillChunkRecords: 1 });
    const dbPath = first.dbPath;
    const times = Array.from({ length: 120 }, (_, i) => new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString());
    for (let i = 0; i < times.length; i += 40) await postSpans(first.url, times.slice(i, i + 40).map(spanAt));
    const id = await define(first.url, { name: 'all', aggregation: { func: 'count' } }, { wait: false });
    // Stopped after at most a chunk or two (each one record, one writer turn).
    await first.close(false);
    const stored = await DuckDBInstance.create(dbPath, { access_mode: 'READ_ONLY' });
    const conn = await stored.connect();
    const cursor = (await conn.runAndReadAll('SELECT backfill_cursor_us FROM meters')).getRows()[0]?.[0];
    conn.closeSync();
    stored.closeSync();
    expect(cursor).not.toBeNull();
    const again = await startTestCollector({ dbPath, meterBackfillChunkRecords: 25 });
    try {
      await postSpans(again.url, [spanAt('2026-01-02T05:30:00Z'), spanAt('2026-01-06T05:30:00Z')]);
      await meterBackfilled(again.url, id);
      const q = await quantities(again.url, id, 'start_date=2026-01-01&end_date=2026-01-06&interval=day');
      expect(q.periods.map((p) => p.quantity)).toEqual([24, 25, 24, 24, 24, 1]);
      expect(q.total).toBe(122);
    } finally {
      await again.close();
    }
  });
});

describe('meters and spans waiting for their customer', () => {
  it('counts a pending span live, then for the customer its late parent names', async () => {
    const c = await startTestCollector();
    try {
      const id = await define(c.url, {
        name: 'embeds',
        filter: { span_name: 'embed' },
        aggregation: { func: 'count' },
      });
      const at = String(BigInt(Date.parse('2026-05-01T10:00:00Z')) * 1_000_000n);
      const trace = 'ab'.repeat(16);
      const postSpans = (spans: SpanSpec[]) => post(`${c.url}/v1/traces`, jsonRequest(spans));
      await postSpans([
        { traceId: trace, spanId: '02'.repeat(8), parentSpanId: '01'.repeat(8), name: 'embed', startTimeUnixNano: at },
      ]);
      const window = 'start_date=2026-05-01&end_date=2026-05-01&interval=day';
      expect((await quantities(c.url, id, window)).total).toBe(1);
      expect((await quantities(c.url, id, `${window}&customer_id=acme`)).total).toBe(0);
      await postSpans([
        {
          traceId: trace,
          spanId: '01'.repeat(8),
          name: 'POST /embed',
          startTimeUnixNano: at,
          attributes: { 'customer.id': 'acme' },
        },
      ]);
      expect((await quantities(c.url, id, `${window}&customer_id=acme`)).total).toBe(1);
      expect((await quantities(c.url, id, window)).total).toBe(1);
    } finally {
      await c.close();
    }
  });
});

describe('meters and retention', () => {
  it('answer the same after retention removes the spans, and measure pending spans retention settles', async () => {
    const nowMicros = BigInt(Date.parse('2026-06-30T00:00:00Z')) * 1000n;
    const c = await startTestCollector({ nowMicros: () => nowMicros, retainSpansDays: 30 });
    try {
      const id = await define(c.url, {
        name: 'prompt tokens',
        filter: { span_name: 'chat' },
        aggregation: { func: 'sum', property: 'gen_ai.usage.input_tokens' },
      });
      const at = (day: string) => String(BigInt(Date.parse(`${day}T10:00:00Z`)) * 1_000_000n);
      const chat = (n: number, day: string, tokens: number, extra: Partial<SpanSpec> = {}): SpanSpec => ({
        traceId: n.toString(16).padStart(32, '0'),
        spanId: '2'.padStart(16, '0'),
        name: 'chat',
        startTimeUnixNano: at(day),
        attributes: { 'customer.id': 'acme', 'gen_ai.usage.input_tokens': tokens },
        ...extra,
      });
      const res = await post(
        `${c.url}/v1/traces`,
        jsonRequest([
          chat(1, '2026-04-01', 100),
          chat(2, '2026-06-20', 7),
          // waits for a parent that never comes (no customer of its own): retention settles it as unattributed
          chat(3, '2026-04-02', 5, {
            parentSpanId: '1'.padStart(16, '0'),
            attributes: { 'gen_ai.usage.input_tokens': 5 },
          }),
        ]),
      );
      expect(res.status).toBe(200);
      const window = 'start_date=2026-04-01&end_date=2026-06-30&interval=month';
      const before = await quantities(c.url, id, window);
      expect(before.total_exact).toBe('112');
      expect((await quantities(c.url, id, `${window}&customer_id=acme`)).total_exact).toBe('107');
      expect(await c.collector.runRetention()).toBe(2);
      expect(await quantities(c.url, id, window)).toEqual(before);
      expect((await quantities(c.url, id, `${window}&customer_id=acme`)).total_exact).toBe('107');
    } finally {
      await c.close();
    }
  });
});

describe('meter definitions', () => {
  let c: TestCollector;
  beforeAll(async () => {
    c = await startTestCollector();
  });
  afterAll(async () => {
    await c.close();
  });

  it('refuses what cannot be measured, saying where', async () => {
    const tryDefine = (body: unknown) =>
      postJson<{ detail: Array<{ loc: unknown[]; msg: string }> }>(`${c.url}/v1/meters`, body);
    const countWithProperty = await tryDefine({ name: 'x', aggregation: { func: 'count', property: 'tokens' } });
    expect(countWithProperty.status).toBe(422);
    expect(countWithProperty.body.detail[0]?.loc).toEqual(['body', 'aggregation', 'property']);
    const sumWithout = await tryDefine({ name: 'x', aggregation: { func: 'sum' } });
    expect(sumWithout.status).toBe(422);
    expect(sumWithout.body.detail[0]?.msg).toMatch(/needs the attribute/);
    const badKey = await tryDefine({
      name: 'x',
      filter: { attributes: { 'a"b': 'c' } },
      aggregation: { func: 'count' },
    });
    expect(badKey.status).toBe(422);
    expect(badKey.body.detail[0]?.loc).toEqual(['body', 'filter', 'attributes', 'a"b']);
    const badValue = await tryDefine({
      name: 'x',
      filter: { attributes: { a: { nested: 1 } } },
      aggregation: { func: 'count' },
    });
    expect(badValue.status).toBe(422);
    const badFunc = await tryDefine({ name: 'x', aggregation: { func: 'avg' } });
    expect(badFunc.status).toBe(422);
    const noName = await tryDefine({ name: '  ', aggregation: { func: 'count' } });
    expect(noName.status).toBe(422);
    expect((await (await fetch(`${c.url}/v1/meters`)).json()) as unknown).toEqual({ items: [] });
  });

  it('checks the window of a quantities query', async () => {
    const id = await define(c.url, { name: 'all', aggregation: { func: 'count' } });
    const bad = await fetch(
      `${c.url}/v1/meters/${id}/quantities?start_date=2026-01-01&end_date=2026-03-01&interval=hour`,
    );
    expect(bad.status).toBe(422);
    const zone = await fetch(
      `${c.url}/v1/meters/${id}/quantities?start_date=2026-01-01&end_date=2026-01-02&interval=day&timezone=Mars%2FBase`,
    );
    expect(zone.status).toBe(422);
  });
});
