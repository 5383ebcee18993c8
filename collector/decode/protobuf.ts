/**
 * Decoder for `ExportTraceServiceRequest` (opentelemetry-proto v1.x, vendored in proto/), reading only
 * the fields costtrace keeps. Hand-written rather than protobufjs because it goes straight to the shape
 * we store (hex ids, bigint nanoseconds, attribute maps) without an intermediate object graph: measured
 * ~2x faster (bench/decode.ts); test/collector/decode-protobuf.test.ts cross-checks it against protobufjs
 * reflection on the vendored .proto files and fuzzes it.
 *
 * Field numbers (trace.proto, common.proto, resource.proto, trace_service.proto) are cited inline.
 * Unknown fields of every wire type are skipped (proto3 rule); a known field with the wrong wire type,
 * a truncated value or a length past the end is a DecodeError.
 */
import { bytesToHex } from './hex.ts';
import {
  type AttrMap,
  type AttrValue,
  DecodeBudget,
  type DecodedResource,
  type DecodedSpan,
  DecodeError,
  MAX_VALUE_DEPTH,
} from './types.ts';

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_SGROUP = 3;
const WIRE_EGROUP = 4;
const WIRE_I32 = 5;

const TWO_64 = 1n << 64n;
const TWO_63 = 1n << 63n;

class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  /** A varint that must fit 32 bits (tags, lengths, enums). */
  uint32(): number {
    const { buf, end } = this;
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw new DecodeError('truncated varint');
      const b = buf[this.pos++] as number;
      if (shift < 32) result |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) return result >>> 0;
    }
    throw new DecodeError('varint longer than 10 bytes');
  }

  /** int64 (two's complement): a number when safe, else a bigint. */
  int64(): number | bigint {
    const start = this.pos;
    const { buf, end } = this;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= end) throw new DecodeError('truncated varint');
      const b = buf[this.pos++] as number;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    // More than 49 bits: redo exactly with bigint.
    this.pos = start;
    let big = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw new DecodeError('truncated varint');
      const b = buf[this.pos++] as number;
      big |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (b < 0x80) {
        big &= TWO_64 - 1n;
        const signed = big >= TWO_63 ? big - TWO_64 : big;
        return Number.isSafeInteger(Number(signed)) ? Number(signed) : signed;
      }
    }
    throw new DecodeError('varint longer than 10 bytes');
  }

  fixed64(): bigint {
    if (this.pos + 8 > this.end) throw new DecodeError('truncated fixed64');
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new DecodeError('truncated double');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Reads a length prefix and returns the end offset of the delimited value. */
  delimited(): number {
    const len = this.uint32();
    const valueEnd = this.pos + len;
    if (valueEnd > this.end) throw new DecodeError('length past the end of the message');
    return valueEnd;
  }

  string(): string {
    const valueEnd = this.delimited();
    const s = this.buf.toString('utf8', this.pos, valueEnd);
    this.pos = valueEnd;
    return s;
  }

  hexBytes(): string {
    const valueEnd = this.delimited();
    const s = bytesToHex(this.buf, this.pos, valueEnd);
    this.pos = valueEnd;
    return s;
  }

  bytes(): Uint8Array {
    const valueEnd = this.delimited();
    const b = Uint8Array.prototype.slice.call(this.buf, this.pos, valueEnd);
    this.pos = valueEnd;
    return b;
  }

  skip(wire: number, depth = 0): void {
    switch (wire) {
      case WIRE_VARINT:
        this.int64();
        return;
      case WIRE_I64:
        this.advance(8);
        return;
      case WIRE_LEN:
        this.pos = this.delimited();
        return;
      case WIRE_I32:
        this.advance(4);
        return;
      case WIRE_SGROUP: {
        if (depth > MAX_VALUE_DEPTH) throw new DecodeError('groups nested too deep');
        for (;;) {
          const tag = this.tag();
          if ((tag & 7) === WIRE_EGROUP) return;
          this.skip(tag & 7, depth + 1);
        }
      }
      default:
        throw new DecodeError(`invalid wire type ${wire}`);
    }
  }

  tag(): number {
    const tag = this.uint32();
    if (tag >>> 3 === 0) throw new DecodeError('invalid field number 0');
    return tag;
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new DecodeError('truncated value');
    this.pos += n;
  }
}

function expectWire(tag: number, wire: number, what: string): void {
  if ((tag & 7) !== wire) throw new DecodeError(`wrong wire type ${tag & 7} for ${what}`);
}

/** Decodes an ExportTraceServiceRequest body. An empty body is a valid, empty request. */
export function decodeTraceRequestProtobuf(body: Buffer): DecodedSpan[] {
  const spans: DecodedSpan[] = [];
  const budget = new DecodeBudget();
  const r = new Reader(body, 0, body.length);
  while (r.pos < r.end) {
    const tag = r.tag();
    if (tag >>> 3 === 1) {
      // ExportTraceServiceRequest.resource_spans = 1
      expectWire(tag, WIRE_LEN, 'resource_spans');
      budget.container();
      const end = r.delimited();
      readResourceSpans(new Reader(body, r.pos, end), spans, budget);
      r.pos = end;
    } else r.skip(tag & 7);
  }
  return spans;
}

function readResourceSpans(r: Reader, out: DecodedSpan[], budget: DecodeBudget): void {
  let resource: DecodedResource = { attributes: new Map() };
  const scopeRanges: Array<[number, number]> = [];
  while (r.pos < r.end) {
    const tag = r.tag();
    const field = tag >>> 3;
    if (field === 1) {
      // ResourceSpans.resource = 1
      expectWire(tag, WIRE_LEN, 'resource');
      const end = r.delimited();
      resource = { attributes: readAttributesOf(new Reader(r.buf, r.pos, end), 1, budget) };
      r.pos = end;
    } else if (field === 2) {
      // ResourceSpans.scope_spans = 2 (decoded after the loop: resource may come later on the wire)
      expectWire(tag, WIRE_LEN, 'scope_spans');
      budget.container();
      const end = r.delimited();
      scopeRanges.push([r.pos, end]);
      r.pos = end;
    } else r.skip(tag & 7);
  }
  for (const [start, end] of scopeRanges) readScopeSpans(new Reader(r.buf, start, end), resource, out, budget);
}

function readScopeSpans(r: Reader, resource: DecodedResource, out: DecodedSpan[], budget: DecodeBudget): void {
  let scopeName = '';
  const spanRanges: Array<[number, number]> = [];
  while (r.pos < r.end) {
    const tag = r.tag();
    const field = tag >>> 3;
    if (field === 1) {
      // ScopeSpans.scope = 1 → InstrumentationScope.name = 1
      expectWire(tag, WIRE_LEN, 'scope');
      const end = r.delimited();
      scopeName = readScopeName(new Reader(r.buf, r.pos, end));
      r.pos = end;
    } else if (field === 2) {
      // ScopeSpans.spans = 2
      expectWire(tag, WIRE_LEN, 'spans');
      budget.span();
      const end = r.delimited();
      spanRanges.push([r.pos, end]);
      r.pos = end;
    } else r.skip(tag & 7);
  }
  for (const [start, end] of spanRanges) {
    out.push(readSpan(new Reader(r.buf, start, end), resource, scopeName, budget));
  }
}

function readScopeName(r: Reader): string {
  let name = '';
  while (r.pos < r.end) {
    const tag = r.tag();
    if (tag >>> 3 === 1) {
      expectWire(tag, WIRE_LEN, 'scope.name');
      name = r.string();
    } else r.skip(tag & 7);
  }
  return name;
}

function readSpan(r: Reader, resource: DecodedResource, scopeName: string, budget: DecodeBudget): DecodedSpan {
  let traceId = '';
  let spanId = '';
  let parentSpanId = '';
  let name = '';
  let kind = 0;
  let startTimeUnixNano = 0n;
  let endTimeUnixNano = 0n;
  let statusCode = 0;
  const attributes: AttrMap = new Map();
  while (r.pos < r.end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1: // trace_id
        expectWire(tag, WIRE_LEN, 'trace_id');
        traceId = r.hexBytes();
        break;
      case 2: // span_id
        expectWire(tag, WIRE_LEN, 'span_id');
        spanId = r.hexBytes();
        break;
      case 4: // parent_span_id
        expectWire(tag, WIRE_LEN, 'parent_span_id');
        parentSpanId = r.hexBytes();
        break;
      case 5: // name
        expectWire(tag, WIRE_LEN, 'name');
        name = r.string();
        break;
      case 6: // kind (enum)
        expectWire(tag, WIRE_VARINT, 'kind');
        kind = r.uint32();
        break;
      case 7: // start_time_unix_nano (fixed64)
        expectWire(tag, WIRE_I64, 'start_time_unix_nano');
        startTimeUnixNano = r.fixed64();
        break;
      case 8: // end_time_unix_nano (fixed64)
        expectWire(tag, WIRE_I64, 'end_time_unix_nano');
        endTimeUnixNano = r.fixed64();
        break;
      case 9: {
        // attributes (repeated KeyValue)
        expectWire(tag, WIRE_LEN, 'attributes');
        const end = r.delimited();
        readKeyValue(new Reader(r.buf, r.pos, end), attributes, 0, budget);
        r.pos = end;
        break;
      }
      case 15: {
        // status → Status.code = 3
        expectWire(tag, WIRE_LEN, 'status');
        const end = r.delimited();
        statusCode = readStatusCode(new Reader(r.buf, r.pos, end));
        r.pos = end;
        break;
      }
      default:
        r.skip(tag & 7);
    }
  }
  return {
    traceId,
    spanId,
    parentSpanId,
    name,
    kind,
    startTimeUnixNano,
    endTimeUnixNano,
    statusCode,
    attributes,
    resource,
    scopeName,
  };
}

function readStatusCode(r: Reader): number {
  let code = 0;
  while (r.pos < r.end) {
    const tag = r.tag();
    if (tag >>> 3 === 3) {
      expectWire(tag, WIRE_VARINT, 'status.code');
      code = r.uint32();
    } else r.skip(tag & 7);
  }
  return code;
}

/** Reads every `repeated KeyValue` with the given field number of a message (Resource.attributes = 1). */
function readAttributesOf(r: Reader, field: number, budget: DecodeBudget): AttrMap {
  const attributes: AttrMap = new Map();
  while (r.pos < r.end) {
    const tag = r.tag();
    if (tag >>> 3 === field) {
      expectWire(tag, WIRE_LEN, 'attributes');
      const end = r.delimited();
      readKeyValue(new Reader(r.buf, r.pos, end), attributes, 0, budget);
      r.pos = end;
    } else r.skip(tag & 7);
  }
  return attributes;
}

/** KeyValue: key = 1, value = 2 (key_strindex = 3 is for profiles only and ignored). Last key wins. */
function readKeyValue(r: Reader, into: AttrMap, depth: number, budget: DecodeBudget): void {
  budget.attribute();
  let key = '';
  let value: AttrValue = null;
  while (r.pos < r.end) {
    const tag = r.tag();
    const field = tag >>> 3;
    if (field === 1) {
      expectWire(tag, WIRE_LEN, 'key');
      key = r.string();
    } else if (field === 2) {
      expectWire(tag, WIRE_LEN, 'value');
      const end = r.delimited();
      value = readAnyValue(new Reader(r.buf, r.pos, end), depth, budget);
      r.pos = end;
    } else r.skip(tag & 7);
  }
  into.set(key, value);
}

/** AnyValue oneof: string 1, bool 2, int 3, double 4, array 5, kvlist 6, bytes 7 (strindex 8 ignored). */
function readAnyValue(r: Reader, depth: number, budget: DecodeBudget): AttrValue {
  if (depth > MAX_VALUE_DEPTH) throw new DecodeError('attribute values nested too deep');
  let value: AttrValue = null;
  while (r.pos < r.end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        expectWire(tag, WIRE_LEN, 'string_value');
        value = r.string();
        break;
      case 2:
        expectWire(tag, WIRE_VARINT, 'bool_value');
        value = r.int64() !== 0;
        break;
      case 3:
        expectWire(tag, WIRE_VARINT, 'int_value');
        value = r.int64();
        break;
      case 4:
        expectWire(tag, WIRE_I64, 'double_value');
        value = r.double();
        break;
      case 5: {
        // ArrayValue.values = 1
        expectWire(tag, WIRE_LEN, 'array_value');
        const end = r.delimited();
        value = readArray(new Reader(r.buf, r.pos, end), depth + 1, budget);
        r.pos = end;
        break;
      }
      case 6: {
        // KeyValueList.values = 1
        expectWire(tag, WIRE_LEN, 'kvlist_value');
        const end = r.delimited();
        const kv: AttrMap = new Map();
        const inner = new Reader(r.buf, r.pos, end);
        while (inner.pos < inner.end) {
          const t = inner.tag();
          if (t >>> 3 === 1) {
            expectWire(t, WIRE_LEN, 'kvlist values');
            const e = inner.delimited();
            readKeyValue(new Reader(r.buf, inner.pos, e), kv, depth + 1, budget);
            inner.pos = e;
          } else inner.skip(t & 7);
        }
        value = kv;
        r.pos = end;
        break;
      }
      case 7:
        expectWire(tag, WIRE_LEN, 'bytes_value');
        value = r.bytes();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return value;
}

function readArray(r: Reader, depth: number, budget: DecodeBudget): AttrValue[] {
  const values: AttrValue[] = [];
  while (r.pos < r.end) {
    const tag = r.tag();
    if (tag >>> 3 === 1) {
      expectWire(tag, WIRE_LEN, 'array values');
      budget.attribute();
      const end = r.delimited();
      values.push(readAnyValue(new Reader(r.buf, r.pos, end), depth, budget));
      r.pos = end;
    } else r.skip(tag & 7);
  }
  return values;
}
