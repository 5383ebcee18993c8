import { afterAll, describe, expect, it } from 'vitest';
import { DecodeError } from '../../collector/decode/types.ts';
import { DecodePool } from '../../collector/receiver/decode-pool.ts';
import { jsonRequest, protobufRequest, type SpanSpec } from '../helpers/otlp.ts';

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
