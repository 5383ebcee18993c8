/**
 * Property: whatever the receiver acknowledges can be summed by every read endpoint — amounts up to the
 * per-record limit, refunds, and times at both ends of the storable range — and the sums are exact.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPicocents, MAX_RECORD_AMOUNT_CENTS } from '../../../src/money.ts';
import { startTestCollector, type TestCollector } from '../../helpers/collector.ts';
import { jsonRequest } from '../../helpers/otlp.ts';

let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector();
});
afterAll(async () => {
  await c.close();
});

const LIMIT_PICOCENTS = MAX_RECORD_AMOUNT_CENTS * 10n ** 12n;
/** Days whose records must be summable: the first storable day, today-ish, the last storable day. */
const ANCHORS = [
  { date: '1970-01-01', startNanos: 1_000n },
  { date: '2024-06-15', startNanos: 1718445600000000000n },
  { date: '2554-07-21', startNanos: (1n << 64n) - 1n - 3_600_000_000_000n },
];

/** Amounts up to DECIMAL(38,12)'s 26 integer digits: those past the per-record limit must be rejected. */
const MAX_PARSABLE = 10n ** 38n - 1n;
const amount = (min: bigint) =>
  fc.oneof(
    fc.constantFrom(LIMIT_PICOCENTS, min, 0n, LIMIT_PICOCENTS + 1n),
    fc.bigInt({ min, max: LIMIT_PICOCENTS }),
    fc.bigInt({ min: 0n, max: 10n ** 15n }),
    fc.bigInt({ min: min < 0n ? -MAX_PARSABLE : 0n, max: MAX_PARSABLE }),
  );
const fits = (v: bigint | null) => v === null || (v <= LIMIT_PICOCENTS && v >= -LIMIT_PICOCENTS);

const spanGen = fc.record({
  anchor: fc.nat({ max: ANCHORS.length - 1 }),
  customer: fc.constantFrom('a', 'b', 'c'),
  cost: amount(0n),
  revenue: fc.option(amount(-LIMIT_PICOCENTS), { nil: null }),
});

let run = 0;

describe('acknowledged input is summable everywhere', () => {
  it('every read endpoint answers 200 with exact sums (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(spanGen, { minLength: 1, maxLength: 25 }), async (spans) => {
        run++;
        const traceId = `${run.toString(16).padStart(8, '0')}${'7'.repeat(24)}`;
        const body = jsonRequest(
          spans.map((s, i) => ({
            traceId,
            spanId: (i + 1).toString(16).padStart(16, '0'),
            startTimeUnixNano: String((ANCHORS[s.anchor] as (typeof ANCHORS)[number]).startNanos + BigInt(i)),
            endTimeUnixNano: String((ANCHORS[s.anchor] as (typeof ANCHORS)[number]).startNanos + BigInt(i)),
            attributes: {
              'customer.id': `${s.customer}-${run}`,
              '_cost.amount': { stringValue: formatPicocents(s.cost) },
              ...(s.revenue === null ? {} : { '_revenue.amount': { stringValue: formatPicocents(s.revenue) } }),
            },
          })),
        );
        const res = await fetch(`${c.url}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(res.status).toBe(200);
        const rejected = spans.filter((s) => !fits(s.cost) || !fits(s.revenue)).length;
        const answer = (await res.json()) as { partialSuccess?: { rejectedSpans: string } };
        expect(answer.partialSuccess?.rejectedSpans ?? '0').toBe(String(rejected));
        const accepted = spans.filter((s) => fits(s.cost) && fits(s.revenue));
        if (accepted.length === 0) return;

        const get = async (path: string) => {
          const r = await fetch(`${c.url}${path}`);
          expect({ path, status: r.status }).toEqual({ path, status: 200 });
          return (await r.json()) as Record<string, unknown>;
        };
        const tree = await get(`/v1/traces/${traceId}`);
        const totalCost = accepted.reduce((n, s) => n + s.cost, 0n);
        expect(tree.total_cost_exact).toBe(formatPicocents(totalCost));
        for (const [index, a] of ANCHORS.entries()) {
          const window = `start_date=${a.date}&end_date=${a.date}`;
          const customers = await get(`/v1/metrics/customers?${window}&limit=1000`);
          const items = customers.items as Array<{ customer_id: string; costs_exact: string }>;
          for (const name of ['a', 'b', 'c']) {
            const expected = accepted
              .filter((s) => s.anchor === index && s.customer === name)
              .reduce((n, s) => n + s.cost, 0n);
            const row = items.find((i) => i.customer_id === `${name}-${run}`);
            // A customer with nothing in the window has no row or a zero one: a phantom cost fails.
            expect(row?.costs_exact ?? '0').toBe(formatPicocents(expected));
          }
          await get(`/v1/metrics?${window}&interval=day`);
          await get(`/v1/metrics?${window}&interval=hour&timezone=Pacific/Kiritimati`);
          for (const groupBy of ['model', 'vendor', 'service', 'span_name', 'root_name']) {
            await get(`/v1/cost-drivers?${window}&group_by=${groupBy}`);
          }
          await get(`/v1/traces?${window}&sort=-cost`);
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 15) },
    );
  });
});
