import { context, SpanKind, type Tracer, trace } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import Long from 'long';
import { describe, expect, it } from 'vitest';
import { decodeTraceRequestProtobuf } from '../../../collector/decode/protobuf.ts';
import type { AttrValue, DecodedSpan } from '../../../collector/decode/types.ts';
import { DecodeError } from '../../../collector/decode/types.ts';
import { ExportRequest } from '../../helpers/otlp.ts';

/** Plain comparable form of an attribute value. */
function plain(v: AttrValue): unknown {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, plain(x)]));
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('hex') };
  if (typeof v === 'bigint') return { int: v.toString() };
  return v;
}

function plainSpan(s: DecodedSpan) {
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    name: s.name,
    kind: s.kind,
    start: s.startTimeUnixNano.toString(),
    end: s.endTimeUnixNano.toString(),
    status: s.statusCode,
    scope: s.scopeName,
    attributes: plain(s.attributes),
    resource: plain(s.resource.attributes),
  };
}

describe('protobuf decoder against the official OpenTelemetry JS serializer', () => {
  it('decodes what ProtobufTraceSerializer encodes: ids, names, kinds, exact ns times, attributes', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout', 'customer.id': 'res-cust' }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer: Tracer = provider.getTracer('decoder-test', '1.0.0');
    {
      const root = tracer.startSpan('root', { kind: SpanKind.SERVER, startTime: [1700000000, 123456789] });
      const parentContext = trace.setSpan(context.active(), root);
      const child = tracer.startSpan(
        'llm call',
        {
          kind: SpanKind.CLIENT,
          startTime: [1700000000, 500000000],
          attributes: {
            '_cost.amount': 3,
            '_cost.currency': 'usd',
            ratio: 0.25,
            big: 2 ** 40,
            ok: true,
            tags: ['a', 'b'],
            nums: [1, 2, 3],
          },
        },
        parentContext,
      );
      child.end([1700000001, 5]);
      root.setAttribute('customer.id', 'acme');
      root.end([1700000002, 999999999]);
    }
    await provider.forceFlush();
    const spans = exporter.getFinishedSpans();
    const body = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array);
    const decoded = decodeTraceRequestProtobuf(body).map(plainSpan);
    const root = spans.find((s) => s.name === 'root');
    const child = spans.find((s) => s.name === 'llm call');
    if (!root || !child) throw new Error('spans missing');
    expect(decoded).toEqual([
      {
        traceId: child.spanContext().traceId,
        spanId: child.spanContext().spanId,
        parentSpanId: root.spanContext().spanId,
        name: 'llm call',
        kind: 3,
        start: '1700000000500000000',
        end: '1700000001000000005',
        status: 0,
        scope: 'decoder-test',
        attributes: {
          '_cost.amount': 3,
          '_cost.currency': 'usd',
          ratio: 0.25,
          big: 2 ** 40,
          ok: true,
          tags: ['a', 'b'],
          nums: [1, 2, 3],
        },
        resource: expect.objectContaining({ 'service.name': 'checkout', 'customer.id': 'res-cust' }),
      },
      {
        traceId: root.spanContext().traceId,
        spanId: root.spanContext().spanId,
        parentSpanId: '',
        name: 'root',
        kind: 2,
        start: '1700000000123456789',
        end: '1700000002999999999',
        status: 0,
        scope: 'decoder-test',
        attributes: { 'customer.id': 'acme' },
        resource: expect.objectContaining({ 'service.name': 'checkout', 'customer.id': 'res-cust' }),
      },
    ]);
  });
});

// ---- differential testing against protobufjs reflection on test/fixtures/otlp-trace.proto ----

const bytesArb = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const idArb = (len: number) =>
  fc.oneof({ weight: 8, arbitrary: bytesArb(len, len) }, { weight: 1, arbitrary: bytesArb(0, 20) });

type Gen = Record<string, unknown>;
const anyValueArb: fc.Memo<Gen> = fc.memo((depth) => {
  const scalar = fc.oneof(
    fc.string().map((s) => ({ stringValue: s })),
    fc.boolean().map((b) => ({ boolValue: b })),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((i) => ({ intValue: Long.fromString(i.toString()) })),
    fc.double().map((d) => ({ doubleValue: d })),
    bytesArb(0, 8).map((b) => ({ bytesValue: b })),
    fc.constant({}),
  );
  if (depth <= 1) return scalar;
  return fc.oneof(
    { weight: 4, arbitrary: scalar },
    {
      weight: 1,
      arbitrary: fc.array(anyValueArb(depth - 1), { maxLength: 3 }).map((values) => ({ arrayValue: { values } })),
    },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.record({ key: fc.string({ maxLength: 6 }), value: anyValueArb(depth - 1) }), { maxLength: 3 })
        .map((values) => ({ kvlistValue: { values } })),
    },
  );
});
const keyValuesArb = fc.array(fc.record({ key: fc.string({ maxLength: 8 }), value: anyValueArb(3) }), { maxLength: 4 });
const u64Arb = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => Long.fromString(v.toString(), true));
const spanArb = fc.record({
  traceId: idArb(16),
  spanId: idArb(8),
  parentSpanId: fc.oneof(fc.constant(new Uint8Array()), idArb(8)),
  traceState: fc.string({ maxLength: 5 }),
  flags: fc.nat(),
  name: fc.string(),
  kind: fc.nat({ max: 5 }),
  startTimeUnixNano: u64Arb,
  endTimeUnixNano: u64Arb,
  attributes: keyValuesArb,
  droppedAttributesCount: fc.nat(),
  events: fc.array(fc.record({ timeUnixNano: u64Arb, name: fc.string(), attributes: keyValuesArb }), { maxLength: 2 }),
  links: fc.array(fc.record({ traceId: bytesArb(16, 16), spanId: bytesArb(8, 8) }), { maxLength: 2 }),
  status: fc.option(fc.record({ message: fc.string(), code: fc.nat({ max: 2 }) }), { nil: undefined }),
});
const requestArb = fc.record({
  resourceSpans: fc.array(
    fc.record({
      resource: fc.option(fc.record({ attributes: keyValuesArb }), { nil: undefined }),
      scopeSpans: fc.array(
        fc.record({
          scope: fc.option(fc.record({ name: fc.string(), version: fc.string() }), { nil: undefined }),
          spans: fc.array(spanArb, { maxLength: 3 }),
        }),
        { maxLength: 2 },
      ),
    }),
    { maxLength: 2 },
  ),
});

/** What protobufjs decodes, mapped to costtrace's shape: the expected output. */
function viaProtobufjs(body: Uint8Array) {
  const obj = ExportRequest.toObject(ExportRequest.decode(body), {
    longs: String,
    bytes: Array,
    defaults: true,
    oneofs: true,
  }) as Gen;
  const hex = (b: number[]) => Buffer.from(b).toString('hex');
  const anyValue = (v: Gen | undefined): unknown => {
    if (!v?.value) return null;
    const k = v.value as string;
    const x = v[k];
    if (k === 'intValue') {
      const n = BigInt(x as string);
      return Number.isSafeInteger(Number(n)) ? Number(n) : { int: n.toString() };
    }
    if (k === 'bytesValue') return { bytes: hex(x as number[]) };
    if (k === 'arrayValue') return ((x as Gen).values as Gen[]).map(anyValue);
    if (k === 'kvlistValue') return kvs((x as Gen).values as Gen[]);
    return x;
  };
  const kvs = (list: Gen[]) => Object.fromEntries(list.map((kv) => [kv.key, anyValue(kv.value as Gen)]));
  const out: unknown[] = [];
  for (const rs of obj.resourceSpans as Gen[]) {
    const resource = kvs(((rs.resource as Gen | null)?.attributes as Gen[]) ?? []);
    for (const ss of rs.scopeSpans as Gen[]) {
      for (const s of ss.spans as Gen[]) {
        out.push({
          traceId: hex(s.traceId as number[]),
          spanId: hex(s.spanId as number[]),
          parentSpanId: hex(s.parentSpanId as number[]),
          name: s.name,
          kind: s.kind,
          start: s.startTimeUnixNano,
          end: s.endTimeUnixNano,
          status: (s.status as Gen | null)?.code ?? 0,
          scope: (ss.scope as Gen | null)?.name ?? '',
          attributes: kvs(s.attributes as Gen[]),
          resource,
        });
      }
    }
  }
  return out;
}

describe('protobuf decoder against protobufjs reflection (property-based)', () => {
  it('agrees with protobufjs on random requests, skipping events, links and other unknown-to-us fields', () => {
    fc.assert(
      fc.property(requestArb, (req) => {
        const body = ExportRequest.encode(ExportRequest.fromObject(req)).finish();
        const ours = decodeTraceRequestProtobuf(Buffer.from(body)).map(plainSpan);
        expect(ours).toEqual(viaProtobufjs(body));
      }),
      { numRuns: 300 },
    );
  });

  it('never throws anything but DecodeError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeTraceRequestProtobuf(Buffer.from(bytes));
        } catch (err) {
          expect(err).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('protobuf decoder: malformed input', () => {
  it.each([
    ['truncated mid-varint', Buffer.from([0x0a, 0x80])],
    ['length past the end', Buffer.from([0x0a, 0x05, 0x01])],
    ['wrong wire type for resource_spans', Buffer.from([0x08, 0x01])],
    ['field number 0', Buffer.from([0x00, 0x01])],
    ['invalid wire type 7', Buffer.from([0x0f])],
    ['truncated fixed64', Buffer.from([0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x39, 0x01])],
  ])('%s → DecodeError', (_name, body) => {
    expect(() => decodeTraceRequestProtobuf(body)).toThrow(DecodeError);
  });

  it('reads an empty body as an empty request', () => {
    expect(decodeTraceRequestProtobuf(Buffer.alloc(0))).toEqual([]);
  });

  it('skips unknown fields of every wire type, including groups', () => {
    // field 99 varint, field 98 fixed64, field 97 bytes, field 96 fixed32, field 95 group (empty)
    const unknown = Buffer.from([
      0x98, 0x06, 0x05, 0x91, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 0x8a, 0x06, 0x01, 0x00, 0x85, 0x06, 1, 2, 3, 4, 0xfb, 0x05,
      0xfc, 0x05,
    ]);
    expect(decodeTraceRequestProtobuf(unknown)).toEqual([]);
  });
});
