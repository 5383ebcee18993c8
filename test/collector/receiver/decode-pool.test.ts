import { afterAll, describe, expect, it } from 'vitest';
import { DecodeError } from '../../../collector/decode/types.ts';
import { parsePriceBook } from '../../../collector/features/prices/book.ts';
import { DecodePool } from '../../../collector/receiver/decode-pool.ts';
import { jsonRequest, protobufRequest, type SpanSpec } from '../../helpers/otlp.ts';

const pool = new DecodePool(1);
const inline = new DecodePool(0);
afterAll(async () => {
  await pool.close();
  await inline.close();
});

const spans: SpanSpec[] = Array.from({ length: 600 }, (_, i) => ({
  traceId: `${(i % 50).toString(16).padStart(8, '0')}${'ab'.repeat(12)}`,
  spanId: (i + 1).toString(16).padStart(16, '0'),
  attributes: {
    'customer.id': `c${i % 7}`,
    '_cost.amount': '0.000123',
    'gen_ai.request.model': 'gpt-4o',
    note: 'x'.repeat(100),
  },
}));

describe('decode pool', () => {
  it('prices with the book it was last given, on workers and inline alike', async () => {
    const parsed = parsePriceBook({ spans: [{ name: 'priced-op', cents_per_span: '2.5' }] });
    if (!parsed.ok) throw new Error('book');
    const named = spans.map((s) => ({ ...s, name: 'priced-op', attributes: { note: 'x'.repeat(100) } }));
    const body = protobufRequest(jsonRequest(named));
    expect(body.length).toBeGreaterThan(64 * 1024);
    const priced = new DecodePool(1);
    const plain = new DecodePool(0);
    try {
      const before = await priced.decode('protobuf', Buffer.from(body));
      expect(before.records[0]).toMatchObject({ costPicocents: null, costSource: null, priceVersion: null });
      priced.setPricing({ version: 3, book: parsed.book });
      plain.setPricing({ version: 3, book: parsed.book });
      const onWorker = await priced.decode('protobuf', Buffer.from(body));
      expect(onWorker).toEqual(await plain.decode('protobuf', Buffer.from(body)));
      expect(onWorker.records.every((r) => r.costPicocents === 2_500_000_000_000n && r.priceVersion === 3)).toBe(true);
      expect(onWorker.records[0]?.costSource).toBe('priced');
    } finally {
      await priced.close();
      await plain.close();
    }
  });

  it.each(['protobuf', 'json'] as const)(
    'decodes a large %s request on a worker exactly as inline',
    async (encoding) => {
      const json = jsonRequest([...spans, { traceId: '0'.repeat(32), spanId: '1'.repeat(16) }]);
      const body = encoding === 'json' ? Buffer.from(JSON.stringify(json)) : protobufRequest(json);
      expect(body.length).toBeGreaterThan(64 * 1024); // above the inline threshold
      const onWorker = await pool.decode(encoding, Buffer.from(body));
      const onMain = await inline.decode(encoding, Buffer.from(body));
      expect(onWorker).toEqual(onMain);
      expect(onWorker.received).toBe(601);
      expect(onWorker.records).toHaveLength(600);
      expect(onWorker.rejected).toEqual([expect.objectContaining({ spanId: '1'.repeat(16) })]);
      expect(typeof onWorker.records[0]?.startTimeUnixNano).toBe('bigint');
    },
  );

  it('reports a malformed large body as a DecodeError (400), not a server failure', async () => {
    const garbage = Buffer.alloc(100 * 1024, 0xff);
    await expect(pool.decode('protobuf', garbage)).rejects.toBeInstanceOf(DecodeError);
    // and the worker keeps serving
    const ok = await pool.decode('json', Buffer.from(JSON.stringify({ resourceSpans: [] }).padEnd(70 * 1024, ' ')));
    expect(ok.received).toBe(0);
  });
});
