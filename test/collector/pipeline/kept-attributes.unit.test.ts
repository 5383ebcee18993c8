import { describe, expect, it } from 'vitest';
import type { AttrMap, AttrValue, DecodedSpan } from '../../../collector/decode/types.ts';
import { normalizeSpans } from '../../../collector/pipeline/normalize.ts';

function span(attributes: Array<[string, AttrValue]>): DecodedSpan {
  return {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    parentSpanId: '',
    name: 'chat',
    kind: 3,
    startTimeUnixNano: 1_767_225_600_000_000_000n,
    endTimeUnixNano: 1_767_225_601_000_000_000n,
    statusCode: 0,
    attributes: new Map(attributes),
    resource: { attributes: new Map() },
    scopeName: 's',
  };
}

function keptJson(attributes: Array<[string, AttrValue]>): unknown {
  const { records, rejected } = normalizeSpans([span(attributes)]);
  expect(rejected).toEqual([]);
  return JSON.parse((records[0] as { attributesJson: string }).attributesJson);
}

describe('the attributes a span is stored with', () => {
  it('keeps allow-listed keys with every kind of value, in order, and drops the rest', () => {
    const nested: AttrMap = new Map<string, AttrValue>([
      ['a', 1],
      ['b', new Map<string, AttrValue>([['c', [true, null]]])],
    ]);
    const long = 'x'.repeat(1500);
    expect(
      keptJson([
        ['gen_ai.request.model', 'gpt-4o "mini"\n\u2028'],
        ['app.feature', 'answers'],
        ['http.response.status_code', 200],
        ['gen_ai.usage.cost', 0.25],
        ['llm.flag', true],
        ['llm.off', false],
        ['db.rows', 9_007_199_254_740_993n],
        ['db.nan', Number.NaN],
        ['db.inf', Number.POSITIVE_INFINITY],
        ['url.full', long],
        ['rpc.bytes', new Uint8Array([1, 2, 255])],
        ['messaging.list', ['a', 2, false]],
        ['server.map', nested],
        ['server.null', null],
        ['customer.id', 'acme'],
      ]),
    ).toEqual({
      'gen_ai.request.model': 'gpt-4o "mini"\n\u2028',
      'http.response.status_code': 200,
      'gen_ai.usage.cost': 0.25,
      'llm.flag': true,
      'llm.off': false,
      'db.rows': '9007199254740993',
      'db.nan': 'NaN',
      'db.inf': 'Infinity',
      'url.full': `${'x'.repeat(1024)}…`,
      'rpc.bytes': Buffer.from([1, 2, 255]).toString('base64'),
      'messaging.list': ['a', 2, false],
      'server.map': { a: 1, b: { c: [true, null] } },
      'server.null': null,
    });
  });

  it('keeps at most 64 attributes, and the same key the same way however often it is seen', () => {
    const many: Array<[string, AttrValue]> = Array.from({ length: 80 }, (_, i) => [`http.h${i}`, i]);
    const first = keptJson(many) as Record<string, number>;
    expect(Object.keys(first)).toHaveLength(64);
    expect(first['http.h63']).toBe(63);
    expect(keptJson(many)).toEqual(first);
    // More distinct keys than the key cache holds: still kept or dropped by the same rule.
    for (let round = 0; round < 70; round++) {
      const keys: Array<[string, AttrValue]> = Array.from({ length: 64 }, (_, i) => [
        i % 2 ? `other.${round}.${i}` : `gen_ai.${round}.${i}`,
        i,
      ]);
      expect(Object.keys(keptJson(keys) as object)).toHaveLength(32);
    }
  });
});
