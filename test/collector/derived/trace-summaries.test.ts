/**
 * Per-trace summaries are kept at ingest and read by cost drivers and trace lists: for any generated dataset —
 * spans of trees arriving in any order over several requests (children before parents, so attribution settles
 * them later), re-sent spans, roots that never arrive, resource customers — every answer equals the same
 * question asked of the raw spans in SQL (the reference below), exact to the picocent.
 */
import { describe, expect, it } from 'vitest';
import { formatPicocents, parseDecimalString } from '../../../src/money.ts';
import { startTestCollector, type TestCollector } from '../../helpers/collector.ts';
import { type DriversBody, expectDriversLike } from '../../helpers/drivers.ts';
import { jsonRequest, type SpanSpec } from '../../helpers/otlp.ts';

const DAY_S = 86_400;
const START_S = 1_735_689_600; // 2025-01-01T00:00:00Z
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const exact = (v: unknown) => {
  const p = parseDecimalString(String(v));
  if (!p.ok) throw new Error(`not a decimal: ${String(v)}`);
  return formatPicocents(p.picocents);
};

const GROUP_COLUMN = { model: 'llm_model', vendor: 'llm_vendor', service: 'service_name' } as const;

interface Window {
  readonly start: string;
  readonly end: string;
  readonly customer?: string;
}
const WINDOWS: Window[] = [
  { start: '2025-01-01', end: '2025-01-31' },
  { start: '2025-01-04', end: '2025-01-09' },
  { start: '2025-01-01', end: '2025-01-31', customer: 'a' },
  { start: '2025-01-02', end: '2025-01-20', customer: 'r' },
];

async function rows(c: TestCollector, sql: string, params: unknown[]): Promise<unknown[][]> {
  return c.collector.db.read(async (conn) => (await conn.runAndReadAll(sql, params as never)).getRows());
}

/** Cost drivers from raw spans: per (group, trace) sums, then per group totals and percentiles. */
async function referenceDrivers(c: TestCollector, groupBy: string, w: Window) {
  const g =
    groupBy === 'root_name'
      ? `coalesce((SELECT arg_min(r.name, (r.start_time_unix_nano, r.name)) FROM records r
           WHERE r.trace_id = records.trace_id AND r.parent_span_id IS NULL), '(root not received)')`
      : GROUP_COLUMN[groupBy as keyof typeof GROUP_COLUMN];
  const result = await rows(
    c,
    `WITH per AS (
       SELECT ${g} AS g, trace_id, sum(cost_amount) AS c, count(*) AS n FROM records
       WHERE cost_amount IS NOT NULL AND ts >= CAST(? AS TIMESTAMP) AND ts < CAST(? AS TIMESTAMP) + INTERVAL 1 DAY
         AND (? IS NULL OR customer_id = ?)
       GROUP BY ALL)
     SELECT g, sum(c)::VARCHAR, sum(n), count(*), quantile_disc(c, 0.5)::VARCHAR, quantile_disc(c, 0.9)::VARCHAR,
       quantile_disc(c, 0.99)::VARCHAR
     FROM per GROUP BY g ORDER BY sum(c) DESC, g NULLS LAST`,
    [w.start, w.end, w.customer ?? null, w.customer ?? null],
  );
  return result.map((r) => ({
    key: r[0],
    cost: Number(exact(r[1])),
    records: Number(r[2]),
    traces: Number(r[3]),
    per_trace: { p50: Number(exact(r[4])), p90: Number(exact(r[5])), p99: Number(exact(r[6])) },
  }));
}

/**
 * Every window's cost drivers against the raw spans: equal, but for per-trace quantiles answered from the day index's
 * sketch (`quantiles: "sketch"`), which must lie within its stated relative error of the exact ones.
 */
async function expectDrivers(c: TestCollector): Promise<number> {
  let sketched = 0;
  for (const w of WINDOWS) {
    const range = `start_date=${w.start}&end_date=${w.end}${w.customer ? `&customer_id=${w.customer}` : ''}`;
    for (const groupBy of ['model', 'vendor', 'service', 'root_name']) {
      const res = await fetch(`${c.url}/v1/cost-drivers?${range}&group_by=${groupBy}&limit=100`);
      const body = (await res.json()) as {
        quantiles: string;
        quantile_relative_error: number;
        groups: Array<Record<string, unknown>>;
      };
      const got = body.groups.map(({ key, cost, records, traces, per_trace }) => ({
        key,
        cost,
        records,
        traces,
        per_trace,
      }));
      const want = await referenceDrivers(c, groupBy, w);
      if (body.quantiles === 'exact') {
        expect({ groupBy, w, got }).toEqual({ groupBy, w, got: want });
        continue;
      }
      expect(body.quantile_relative_error).toBe(0.01);
      sketched++;
      // Outliers too: those at or above the exact p99 are the exact read's (quantiles=exact, itself checked above).
      const exactBody = (await (
        await fetch(`${c.url}/v1/cost-drivers?${range}&group_by=${groupBy}&limit=100&quantiles=exact`)
      ).json()) as DriversBody;
      expectDriversLike(body as unknown as DriversBody, exactBody, `${groupBy} ${w.start}`);
      const strip = (g: Array<Record<string, unknown>>) => g.map(({ per_trace: _, ...rest }) => rest);
      expect({ groupBy, w, got: strip(got) }).toEqual({ groupBy, w, got: strip(want) });
      got.forEach((g, i) => {
        const p = g.per_trace as Record<string, number>;
        const e = (want[i] as { per_trace: Record<string, number> }).per_trace;
        for (const q of ['p50', 'p90', 'p99']) {
          expect(
            Math.abs((p[q] as number) - (e[q] as number)),
            `${groupBy} ${w.start} ${String(g.key)} ${q}`,
          ).toBeLessThanOrEqual(Math.abs(e[q] as number) * 0.01 + 1e-12);
        }
      });
    }
  }
  return sketched;
}

/**
 * Windows without a customer that hold an indexed day. A day is indexed once ended if a trace summary lies on it; a
 * window whose only spans still wait for a parent that never arrives has none, and is answered (and checked) exactly.
 */
async function windowsIndexed(c: TestCollector): Promise<number> {
  let n = 0;
  for (const w of WINDOWS.filter((x) => x.customer === undefined)) {
    const r = await rows(
      c,
      `SELECT count(*) FROM indexed_periods WHERE kind = 'day' AND period BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)`,
      [w.start, w.end],
    );
    if (Number(r[0]?.[0]) > 0) n++;
  }
  return n;
}

/** Trace list from raw spans, most expensive first. */
async function referenceTraces(c: TestCollector, w: Window) {
  const result = await rows(
    c,
    `SELECT trace_id, coalesce(sum(cost_amount), 0)::VARCHAR, count(*),
       arg_min(name, (start_time_unix_nano, name)), count(*) FILTER (WHERE cost_source = 'unpriced')
     FROM records WHERE source = 'span' AND ts >= CAST(? AS TIMESTAMP) AND ts < CAST(? AS TIMESTAMP) + INTERVAL 1 DAY
       AND (? IS NULL OR customer_id = ?)
     GROUP BY trace_id ORDER BY sum(cost_amount) DESC NULLS LAST, trace_id`,
    [w.start, w.end, w.customer ?? null, w.customer ?? null],
  );
  return result.map((r) => ({
    trace_id: r[0],
    cost_exact: exact(r[1]),
    span_count: Number(r[2]),
    root_name: r[3],
    unpriced_spans: Number(r[4]),
  }));
}

describe('per-trace summaries (property)', () => {
  it('cost drivers and trace lists read from summaries equal the same questions over raw spans', async () => {
    const { default: fc } = await import('fast-check');
    const spanGen = fc.record({
      parent: fc.nat({ max: 5 }),
      // Few distinct days: spans of a trace often share a day and a 15-minute slot (their parts merge).
      day: fc.constantFrom(2, 5, 5, 12, 20),
      customer: fc.constantFrom('a', 'a', null, null),
      model: fc.constantFrom('m1', 'm2', 'm3', null),
      cost: fc.option(fc.bigInt({ min: 0n, max: 10n ** 12n }), { freq: 2 }), // within the per-record cap (10^13)
      unpriced: fc.constantFrom(true, true, true, false),
    });
    const traceGen = fc.record({
      rootCustomer: fc.constantFrom('a', 'b', null),
      rootName: fc.constantFrom('POST /answer', 'GET /report'),
      rootDay: fc.nat({ max: 25 }),
      rootArrives: fc.constantFrom(true, true, true, false),
      children: fc.array(spanGen, { minLength: 1, maxLength: 10 }),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(traceGen, { minLength: 2, maxLength: 8 }),
        fc.array(fc.nat({ max: 2 }), { minLength: 90, maxLength: 90 }),
        fc.array(fc.boolean(), { minLength: 90, maxLength: 90 }),
        async (traces, requestOf, resend) => {
          run++;
          const spans: SpanSpec[] = [];
          traces.forEach((t, ti) => {
            const traceId = hex(run * 100 + ti + 1, 32);
            const at = (day: number, s: number) => String(BigInt(START_S + day * DAY_S + s) * 1_000_000_000n);
            if (t.rootArrives) {
              spans.push({
                traceId,
                spanId: hex(1, 16),
                name: t.rootName,
                startTimeUnixNano: at(t.rootDay, 0),
                endTimeUnixNano: at(t.rootDay, 1),
                attributes: t.rootCustomer === null ? {} : { 'customer.id': t.rootCustomer },
              });
            }
            t.children.forEach((s, i) => {
              const attributes: Record<string, string | number> = {};
              if (s.customer !== null) attributes['customer.id'] = s.customer;
              if (s.model !== null) {
                attributes['gen_ai.system'] = s.model === 'm3' ? 'anthropic' : 'openai';
                attributes['gen_ai.request.model'] = s.model;
              }
              if (s.cost !== null) attributes['_cost.amount'] = `${s.cost}.25`;
              else if (s.unpriced && s.model !== null) {
                attributes['gen_ai.usage.input_tokens'] = 10; // an unknown model: priced `unpriced`
              }
              spans.push({
                traceId,
                spanId: hex(i + 2, 16),
                parentSpanId: hex(Math.min(s.parent, i) + 1, 16), // an earlier span of the tree, or the root
                name: `op${i % 3}`,
                startTimeUnixNano: at(s.day, i + 2),
                endTimeUnixNano: at(s.day, i + 3),
                attributes,
              });
            });
          });
          const requests: SpanSpec[][] = [[], [], []];
          // Roots come last (their children wait for them, then settle); other spans go to any request. Some
          // spans are sent again with the last request, so it mixes new spans and re-sent ones.
          spans.forEach((s, i) => {
            requests[s.parentSpanId === undefined ? 2 : (requestOf[i % 90] as number)]?.push(s);
          });
          spans.forEach((s, i) => {
            if (resend[i % 90]) requests[2]?.push(s);
          });
          const c = await startTestCollector({ nowMicros: () => BigInt(START_S + 40 * DAY_S) * 1_000_000n });
          try {
            // Children before parents within a request too, from two services, one naming a resource customer.
            for (const [i, batch] of requests.entries()) {
              if (batch.length === 0) continue;
              const resource = i === 1 ? { 'service.name': 'worker', 'customer.id': 'r' } : { 'service.name': 'api' };
              const res = await fetch(`${c.url}/v1/traces`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify(jsonRequest(batch.slice().reverse(), resource)),
              });
              expect(res.status).toBe(200);
            }
            expect(await expectDrivers(c)).toBe(0);
            // Again from the day index (every day ended), then after late data: the last request once more (re-sends
            // only) and a new trace with parts on two indexed days, one re-sent (un-indexes them: read live and
            // regrouped with the index's other days).
            await c.collector.indexInsights();
            // All customers by model, vendor and service, in each window without a customer that holds an indexed
            // day — the whole month at least when a root arrived (its trace settles, on days inside the month).
            const indexedWindows = await windowsIndexed(c);
            if (traces.some((t) => t.rootArrives)) expect(indexedWindows).toBeGreaterThan(0);
            expect(await expectDrivers(c)).toBe(3 * indexedWindows);
            const late = [
              { ...(requests[2]?.[0] ?? spans[0]) },
              ...[4, 5].map((day, i) => ({
                traceId: hex(run * 100 + 99, 32),
                spanId: hex(i + 1, 16),
                startTimeUnixNano: String(BigInt(START_S + day * DAY_S + 86_399) * 1_000_000_000n),
                endTimeUnixNano: String(BigInt(START_S + day * DAY_S + 86_399) * 1_000_000_000n),
                attributes: {
                  'customer.id': 'a',
                  'gen_ai.system': 'openai',
                  'gen_ai.request.model': 'm1',
                  '_cost.amount': '7.5',
                },
              })),
            ] as SpanSpec[];
            for (const batch of [requests[2] ?? [], late]) {
              const res = await fetch(`${c.url}/v1/traces`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify(jsonRequest(batch, { 'service.name': 'api' })),
              });
              expect(res.status).toBe(200);
            }
            await expectDrivers(c);
            await c.collector.indexInsights();
            await expectDrivers(c);
            for (const w of WINDOWS) {
              const range = `start_date=${w.start}&end_date=${w.end}${w.customer ? `&customer_id=${w.customer}` : ''}`;
              const list = (await (await fetch(`${c.url}/v1/traces?${range}&limit=1000`)).json()) as {
                items: Array<Record<string, unknown>>;
              };
              const got = list.items.map(({ trace_id, cost_exact, span_count, root_name, unpriced_spans }) => ({
                trace_id,
                cost_exact,
                span_count,
                root_name,
                unpriced_spans,
              }));
              expect({ w, got }).toEqual({ w, got: await referenceTraces(c, w) });
            }
          } finally {
            await c.close();
          }
        },
      ),
      // Each run starts a collector: report the first counterexample instead of spending minutes shrinking it.
      {
        numRuns: Number(process.env.FUZZ_RUNS ?? 15),
        endOnFailure: true,
        // FUZZ_SEED (and FUZZ_PATH) replay a counterexample fast-check printed.
        ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}),
        ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}),
      },
    );
  }, 180_000);
});

describe('per-trace summaries at the edges of time', () => {
  it('puts spans past 2^53 µs (year 2255) up to 2^64 ns in the same UTC day and slot as the store does', async () => {
    const c = await startTestCollector();
    try {
      const starts = ['9007199254740991999', '9007199254740993000', '17999999999999999999', '18446744073709551615'];
      const spans: SpanSpec[] = starts.map((start, i) => ({
        traceId: hex(i + 1, 32),
        spanId: hex(1, 16),
        name: 'late',
        startTimeUnixNano: start,
        endTimeUnixNano: start,
        attributes: { 'customer.id': 'a', '_cost.amount': '1.5' },
      }));
      const res = await fetch(`${c.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(jsonRequest(spans)),
      });
      expect(res.status).toBe(200);
      const summarized = await rows(
        c,
        `SELECT d.trace_id, d.day::VARCHAR, s.slot::VARCHAR FROM trace_days d JOIN driver_slots s USING (trace_id)
         ORDER BY 1`,
        [],
      );
      const fromRecords = await rows(
        c,
        `SELECT trace_id, CAST(ts AS DATE)::VARCHAR, time_bucket(INTERVAL 15 MINUTE, ts)::VARCHAR FROM records
         ORDER BY 1`,
        [],
      );
      expect(summarized).toHaveLength(4);
      expect(summarized).toEqual(fromRecords);
    } finally {
      await c.close();
    }
  });
});
