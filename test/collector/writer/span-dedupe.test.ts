/**
 * Re-sent spans are stored once without an index in memory (writer/span-dedupe.ts): found by their time block,
 * however much was written in between, across a restart, mixed with new spans, and with a child settled late.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { timeBlocks, tsBetween } from '../../../collector/writer/span-dedupe.ts';
import { startTestCollector, type TestCollector } from '../../helpers/collector.ts';
import { postJson } from '../../helpers/http.ts';
import { jsonRequest, type SpanSpec } from '../../helpers/otlp.ts';

const DAY_NS = 86_400_000_000_000n;
const BASE_NS = 1_765_000_000_000_000_000n; // 2025-12-06

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

function span(trace: number, id: number, dayOffset: number, extra: Partial<SpanSpec> = {}): SpanSpec {
  const start = BASE_NS + BigInt(dayOffset) * DAY_NS + BigInt(id) * 1_000_000n;
  return {
    traceId: hex(trace, 32),
    spanId: hex(id, 16),
    startTimeUnixNano: String(start),
    endTimeUnixNano: String(start + 5_000_000n),
    attributes: { 'customer.id': `c-${trace % 3}`, '_cost.amount': 0.25, '_cost.currency': 'usd' },
    ...extra,
  };
}

async function stored(c: TestCollector): Promise<{ rows: number; distinct: number; cost: string }> {
  return c.collector.db.read(async (conn) => {
    const r = (
      await conn.runAndReadAll(
        `SELECT count(*)::INTEGER, count(DISTINCT (trace_id, span_id))::INTEGER, coalesce(sum(cost_amount), 0)::VARCHAR
         FROM records WHERE source = 'span'`,
      )
    ).getRows()[0] as [number, number, string];
    return { rows: r[0], distinct: r[1], cost: r[2] };
  });
}

describe('time blocks', () => {
  it('groups by UTC day with each block’s exact bounds', () => {
    const day = 86_400_000_000n;
    const blocks = timeBlocks([5n, day + 7n, 3n, day + 2n, 3n * day], (t) => t);
    expect(blocks.map((b) => [b.loMicros, b.hiMicros, b.items.length])).toEqual([
      [3n, 5n, 2],
      [day + 2n, day + 7n, 2],
      [3n * day, 3n * day, 1],
    ]);
    expect(tsBetween('r.ts', 1n, 2n)).toBe('r.ts BETWEEN make_timestamp(1::BIGINT) AND make_timestamp(2::BIGINT)');
  });
});

describe('re-sent spans without a primary key', () => {
  let c: TestCollector | undefined;
  afterAll(async () => {
    await c?.close();
  });

  it('stores a span once when it comes again days of data later, after a restart, mixed with new spans', async () => {
    c = await startTestCollector();
    const original = [span(1, 1, 0), span(1, 2, 0, { parentSpanId: hex(1, 16) }), span(2, 3, 5)];
    expect((await postJson(`${c.url}/v1/traces`, jsonRequest(original))).status).toBe(200);
    // Many other spans on the days between, so the originals are far from the end of the table.
    for (let batch = 0; batch < 6; batch++) {
      const others = Array.from({ length: 500 }, (_, i) => span(1000 + batch * 500 + i, 10_000 + i, 1 + (batch % 4)));
      expect((await postJson(`${c.url}/v1/traces`, jsonRequest(others))).status).toBe(200);
    }
    const before = await stored(c);
    expect(before).toEqual({ rows: 3003, distinct: 3003, cost: '750.750000000000' });
    const dbPath = c.dbPath;
    await c.collector.close();
    c = await startTestCollector({ dbPath });
    // The same three again (one re-sent twice in the request), with two new spans on other days.
    const again = [...original, original[0] as SpanSpec, span(3, 4, 2), span(4, 5, 9)];
    expect((await postJson(`${c.url}/v1/traces`, jsonRequest(again))).status).toBe(200);
    expect(await stored(c)).toEqual({ rows: 3005, distinct: 3005, cost: '751.250000000000' });
    const metrics = await c.injectJson<{ totals: { costs: number } }>(
      'GET',
      '/v1/metrics?start_date=2025-12-01&end_date=2025-12-31&interval=month',
    );
    expect(metrics.status).toBe(200);
    expect(metrics.body.totals.costs).toBe(751.25);
    const keys = await c.collector.db.read(
      async (conn) =>
        (
          await conn.runAndReadAll(
            `SELECT count(*)::INTEGER FROM duckdb_constraints() WHERE table_name = 'records' AND constraint_type = 'PRIMARY KEY'`,
          )
        ).getRows()[0]?.[0],
    );
    expect(keys).toBe(0);
  });

  it('settles a child whose parent arrives later and then re-sends both: counted once, under the parent’s customer', async () => {
    const d = await startTestCollector();
    try {
      const child = span(77, 7, 3, {
        parentSpanId: hex(8, 16),
        attributes: { '_cost.amount': 1, '_cost.currency': 'usd' },
      });
      const parent = span(77, 8, 3, { attributes: { 'customer.id': 'late-parent' } });
      expect((await postJson(`${d.url}/v1/traces`, jsonRequest([child]))).status).toBe(200);
      expect((await postJson(`${d.url}/v1/traces`, jsonRequest([parent]))).status).toBe(200);
      expect((await postJson(`${d.url}/v1/traces`, jsonRequest([child, parent]))).status).toBe(200);
      const rows = await d.collector.db.read(async (conn) =>
        (
          await conn.runAndReadAll(
            `SELECT span_id, customer_id, attribution_pending FROM records WHERE trace_id = '${hex(77, 32)}' ORDER BY span_id`,
          )
        ).getRows(),
      );
      expect(rows).toEqual([
        [hex(7, 16), 'late-parent', false],
        [hex(8, 16), 'late-parent', false],
      ]);
    } finally {
      await d.close();
    }
  });
});
