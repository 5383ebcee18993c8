import { deserialize, serialize } from 'node:v8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packRecords, transferables, unpackRecords } from '../../collector/receiver/record-transfer.ts';
import { COST_SOURCES, type SpanRecord } from '../../src/records.ts';

const text = fc.string({ unit: 'binary', maxLength: 40 }); // lone surrogates included
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
const money = maybe(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }));
const record: fc.Arbitrary<SpanRecord> = fc.record({
  traceId: text,
  spanId: text,
  parentSpanId: maybe(text),
  name: text,
  kind: fc.nat({ max: 0xffffffff }),
  serviceName: maybe(text),
  scopeName: text,
  startTimeUnixNano: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  endTimeUnixNano: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  statusCode: fc.nat({ max: 0xffffffff }),
  customerOwn: maybe(text),
  resourceCustomer: maybe(text),
  costPicocents: money,
  costSource: maybe(fc.constantFrom(...COST_SOURCES)),
  priceVersion: maybe(fc.integer({ min: 1, max: 2 ** 31 - 1 })),
  revenuePicocents: money,
  attributesJson: text,
  llmVendor: maybe(text),
  llmModel: maybe(text),
});

describe('records from a decode worker, column-wise', () => {
  it('come back exactly as they were, through V8 structured clone', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 60 }), (records) => {
        const packed = packRecords(records);
        expect(transferables(packed).every((b) => b instanceof ArrayBuffer)).toBe(true);
        expect(unpackRecords(deserialize(serialize(packed)))).toEqual(records);
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});
