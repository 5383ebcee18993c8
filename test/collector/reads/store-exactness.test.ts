import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDecimalString } from '../../../src/money.ts';
import type { SpanRecord } from '../../../src/records.ts';
import { startTestCollector, type TestCollector } from '../../helpers/collector.ts';

let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector();
});
afterAll(async () => {
  await c.close();
});

const cents = (s: string) => {
  const p = parseDecimalString(s);
  if (!p.ok) throw new Error(p.reason);
  return p.picocents;
};

function record(n: number, cost: bigint): SpanRecord {
  return {
    traceId: `${Math.floor(n / 1000)
      .toString(16)
      .padStart(8, '0')}${'5'.repeat(24)}`,
    spanId: (n + 1).toString(16).padStart(16, '0'),
    parentSpanId: null,
    name: 'tiny',
    kind: 1,
    serviceName: 'svc',
    scopeName: '',
    startTimeUnixNano: 1700000000000000000n + BigInt(n),
    endTimeUnixNano: 1700000000000000000n + BigInt(n) + 1n,
    statusCode: 0,
    customerOwn: 'exact',
    resourceCustomer: null,
    costPicocents: cost,
    costSource: 'provided',
    revenuePicocents: null,
    attributesJson: '{}',
    llmVendor: null,
    llmModel: null,
    llmCall: null,
    priceVersion: null,
  };
}

describe('store: exact money', () => {
  it('sums 10^6 spans of 0.000000001 cents plus one of 100000000 cents to exactly 100000000.001', async () => {
    const tiny = cents('0.000000001');
    const BATCH = 20_000;
    for (let start = 0; start < 1_000_000; start += BATCH) {
      await c.collector.queue.submit(Array.from({ length: BATCH }, (_, i) => record(start + i, tiny)));
    }
    await c.collector.queue.submit([record(1_000_000, cents('100000000'))]);
    const total = await c.collector.db.read(async (conn) => {
      const r = await conn.runAndReadAll(
        `SELECT sum(cost_amount)::VARCHAR, count(*) FROM records WHERE customer_id = 'exact'`,
      );
      return r.getRows()[0];
    });
    expect(total).toEqual(['100000000.001000000000', 1000001n]);
    const res = await fetch(
      `${c.url}/v1/metrics?start_date=2023-11-14&end_date=2023-11-14&interval=day&customer_id=exact&metrics=costs`,
    );
    expect(((await res.json()) as { totals: { costs: number } }).totals.costs).toBe(100000000.001);
  });
});
