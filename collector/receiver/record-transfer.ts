/**
 * SpanRecords from a decode worker to the main thread, column-wise. Posting the records as objects made V8's
 * structured clone walk every property of every record (measured ~3 µs per span to serialize in the worker and
 * ~5 µs to deserialize on the main thread, which is the bottleneck); here each text field is one array of strings,
 * numbers are typed arrays (their memory transferred), and the main thread builds the records back.
 * (Concatenating each field into one string was cheaper to clone but its sliced strings cost more downstream.) Exact: every field comes back as it was (test/collector/record-transfer.test.ts).
 */
import type { CostSource, SpanRecord } from '../../src/records.ts';

/** Text fields, in the order packed. */
const TEXT = [
  'traceId',
  'spanId',
  'parentSpanId',
  'name',
  'serviceName',
  'scopeName',
  'customerOwn',
  'resourceCustomer',
  'costSource',
  'attributesJson',
  'llmVendor',
  'llmModel',
] as const;
type TextField = (typeof TEXT)[number];

export interface PackedRecords {
  readonly count: number;
  /** Per text field, its values (V8 clones an array of strings far faster than objects holding them). */
  readonly texts: Array<Array<string | null>>;
  /** kind, statusCode (uint32 as decoded), priceVersion (-1: null) per record. */
  readonly smalls: Float64Array;
  /** start and end time (ns) per record. */
  readonly times: BigUint64Array;
  /** cost and revenue (picocents; may exceed 64 bits) per record. */
  readonly money: Array<bigint | null>;
}

export function packRecords(records: readonly SpanRecord[]): PackedRecords {
  const count = records.length;
  const texts = TEXT.map((field) => {
    const values: Array<string | null> = new Array(count);
    for (let i = 0; i < count; i++) values[i] = (records[i] as SpanRecord)[field];
    return values;
  });
  const smalls = new Float64Array(count * 3);
  const times = new BigUint64Array(count * 2);
  const money: Array<bigint | null> = new Array(count * 2);
  for (let i = 0; i < count; i++) {
    const r = records[i] as SpanRecord;
    smalls[i * 3] = r.kind;
    smalls[i * 3 + 1] = r.statusCode;
    smalls[i * 3 + 2] = r.priceVersion ?? -1;
    times[i * 2] = r.startTimeUnixNano;
    times[i * 2 + 1] = r.endTimeUnixNano;
    money[i * 2] = r.costPicocents;
    money[i * 2 + 1] = r.revenuePicocents;
  }
  return { count, texts, smalls, times, money };
}

/** The typed arrays' memory, to transfer with postMessage instead of copying it. */
export function transferables(p: PackedRecords): ArrayBuffer[] {
  return [p.smalls.buffer, p.times.buffer] as ArrayBuffer[];
}

export function unpackRecords(p: PackedRecords): SpanRecord[] {
  const { count, texts } = p;
  const col = (field: TextField) => texts[TEXT.indexOf(field)] as Array<string | null>;
  const [traceId, spanId, parentSpanId, name, serviceName, scopeName] = TEXT.slice(0, 6).map(col);
  const [customerOwn, resourceCustomer, costSource, attributesJson, llmVendor, llmModel] = TEXT.slice(6).map(col);
  const records: SpanRecord[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const priceVersion = p.smalls[i * 3 + 2] as number;
    // The property order of normalize.ts's records (one hidden class for both).
    records[i] = {
      traceId: traceId?.[i] as string,
      spanId: spanId?.[i] as string,
      parentSpanId: parentSpanId?.[i] ?? null,
      name: name?.[i] as string,
      kind: p.smalls[i * 3] as number,
      serviceName: serviceName?.[i] ?? null,
      scopeName: scopeName?.[i] as string,
      startTimeUnixNano: p.times[i * 2] as bigint,
      endTimeUnixNano: p.times[i * 2 + 1] as bigint,
      statusCode: p.smalls[i * 3 + 1] as number,
      customerOwn: customerOwn?.[i] ?? null,
      resourceCustomer: resourceCustomer?.[i] ?? null,
      costPicocents: p.money[i * 2] ?? null,
      costSource: (costSource?.[i] ?? null) as CostSource | null,
      priceVersion: priceVersion === -1 ? null : priceVersion,
      revenuePicocents: p.money[i * 2 + 1] ?? null,
      attributesJson: attributesJson?.[i] as string,
      llmVendor: llmVendor?.[i] ?? null,
      llmModel: llmModel?.[i] ?? null,
    };
  }
  return records;
}
