/**
 * OTLP/JSON decoder (opentelemetry-proto docs/specification.md, "JSON Protobuf Encoding"): ids are
 * case-insensitive hex (not base64), enums are integers, 64-bit ints may be strings or numbers, unknown
 * fields are ignored. Generic protobuf JSON parsers read ids as base64, hence this walker.
 *
 * Leniency, as in the OpenTelemetry Collector: snake_case keys (`resource_spans`, `trace_id`) are
 * accepted next to lowerCamelCase, and `kind` may be an enum name (`"SPAN_KIND_SERVER"`).
 */
import { canonicalText } from '../../src/text.ts';
import {
  type AttrMap,
  type AttrValue,
  DecodeBudget,
  type DecodedResource,
  type DecodedSpan,
  DecodeError,
  MAX_VALUE_DEPTH,
} from './types.ts';

type Obj = Record<string, unknown>;

const SPAN_KIND_NAMES: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};

const UINT64_RE = /^\d{1,20}$/;
const TWO_64_AS_NUMBER = 2 ** 64;
const INT64_RE = /^-?\d{1,20}$/;

/** Decodes an OTLP/JSON ExportTraceServiceRequest body. */
export function decodeTraceRequestJson(body: Buffer): DecodedSpan[] {
  let root: unknown;
  try {
    root = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new DecodeError(`invalid JSON: ${(err as Error).message}`);
  }
  const request = asObject(root, 'request body');
  const spans: DecodedSpan[] = [];
  const budget = new DecodeBudget();
  for (const rs of asArray(field(request, 'resourceSpans', 'resource_spans'), 'resourceSpans')) {
    budget.container();
    const resourceSpans = asObject(rs, 'resourceSpans[]');
    const resourceObj = field(resourceSpans, 'resource');
    const resource: DecodedResource = {
      attributes:
        resourceObj === undefined || resourceObj === null
          ? new Map()
          : readAttributes(field(asObject(resourceObj, 'resource'), 'attributes'), 0, budget),
    };
    for (const ss of asArray(field(resourceSpans, 'scopeSpans', 'scope_spans'), 'scopeSpans')) {
      budget.container();
      const scopeSpans = asObject(ss, 'scopeSpans[]');
      const scope = field(scopeSpans, 'scope');
      const scopeName =
        scope === undefined || scope === null ? '' : asString(field(asObject(scope, 'scope'), 'name'), 'scope.name');
      for (const s of asArray(field(scopeSpans, 'spans'), 'spans')) {
        budget.span();
        spans.push(readSpan(asObject(s, 'spans[]'), resource, scopeName, budget));
      }
    }
  }
  return spans;
}

function readSpan(s: Obj, resource: DecodedResource, scopeName: string, budget: DecodeBudget): DecodedSpan {
  const status = field(s, 'status');
  return {
    traceId: asString(field(s, 'traceId', 'trace_id'), 'traceId').toLowerCase(),
    spanId: asString(field(s, 'spanId', 'span_id'), 'spanId').toLowerCase(),
    parentSpanId: asString(field(s, 'parentSpanId', 'parent_span_id'), 'parentSpanId').toLowerCase(),
    name: asString(field(s, 'name'), 'name'),
    kind: readKind(field(s, 'kind')),
    startTimeUnixNano: asUint64(field(s, 'startTimeUnixNano', 'start_time_unix_nano'), 'startTimeUnixNano'),
    endTimeUnixNano: asUint64(field(s, 'endTimeUnixNano', 'end_time_unix_nano'), 'endTimeUnixNano'),
    statusCode:
      status === undefined || status === null
        ? 0
        : readEnumInt(field(asObject(status, 'status'), 'code'), 'status.code'),
    attributes: readAttributes(field(s, 'attributes'), 0, budget),
    resource,
    scopeName,
  };
}

function readKind(v: unknown): number {
  if (typeof v === 'string' && v in SPAN_KIND_NAMES) return SPAN_KIND_NAMES[v] as number;
  return readEnumInt(v, 'kind');
}

function readEnumInt(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0x7fffffff) return v;
  throw new DecodeError(`${what} must be an integer enum value`);
}

function readAttributes(v: unknown, depth: number, budget: DecodeBudget): AttrMap {
  const out: AttrMap = new Map();
  if (v === undefined || v === null) return out;
  for (const kv of asArray(v, 'attributes')) {
    budget.attribute();
    const pair = asObject(kv, 'attributes[]');
    const key = asString(field(pair, 'key'), 'attributes[].key');
    const value = field(pair, 'value');
    out.set(key, value === undefined || value === null ? null : readAnyValue(asObject(value, 'value'), depth, budget));
  }
  return out;
}

function readAnyValue(v: Obj, depth: number, budget: DecodeBudget): AttrValue {
  if (depth > MAX_VALUE_DEPTH) throw new DecodeError('attribute values nested too deep');
  let x = field(v, 'stringValue', 'string_value');
  if (x !== undefined) return asString(x, 'stringValue');
  x = field(v, 'boolValue', 'bool_value');
  if (x !== undefined) {
    if (typeof x !== 'boolean') throw new DecodeError('boolValue must be a boolean');
    return x;
  }
  x = field(v, 'intValue', 'int_value');
  if (x !== undefined) return asInt64(x);
  x = field(v, 'doubleValue', 'double_value');
  if (x !== undefined) return asDouble(x);
  x = field(v, 'arrayValue', 'array_value');
  if (x !== undefined) {
    const values = field(asObject(x, 'arrayValue'), 'values');
    if (values === undefined || values === null) return [];
    return asArray(values, 'arrayValue.values').map((item) => {
      budget.attribute();
      return readAnyValue(asObject(item, 'values[]'), depth + 1, budget);
    });
  }
  x = field(v, 'kvlistValue', 'kvlist_value');
  if (x !== undefined) return readAttributes(field(asObject(x, 'kvlistValue'), 'values'), depth + 1, budget);
  x = field(v, 'bytesValue', 'bytes_value');
  if (x !== undefined) return new Uint8Array(Buffer.from(asString(x, 'bytesValue'), 'base64'));
  return null;
}

/** proto3 JSON: int64 as a decimal string or a number. */
function asInt64(v: unknown): number | bigint {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new DecodeError('intValue must be an integer');
    return v;
  }
  if (typeof v === 'string' && INT64_RE.test(v)) {
    const big = BigInt(v);
    return Number.isSafeInteger(Number(big)) ? Number(big) : big;
  }
  throw new DecodeError('intValue must be an integer or a decimal string');
}

/** proto3 JSON: double as a number, or a string ("NaN", "Infinity", "-Infinity" or a number). */
function asDouble(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const n = Number(v);
    if (!Number.isNaN(n) || v === 'NaN') return n;
  }
  throw new DecodeError('doubleValue must be a number');
}

/** Times: 0 ≤ t < 2^64 ns whether sent as a string or a JSON number (a number past 2^53 is already rounded). */
function asUint64(v: unknown, what: string): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < TWO_64_AS_NUMBER) return BigInt(v);
  if (typeof v === 'string' && UINT64_RE.test(v)) {
    const big = BigInt(v);
    if (big < 1n << 64n) return big;
  }
  throw new DecodeError(`${what} must be an unsigned 64-bit integer (string or number)`);
}

function field(o: Obj, camel: string, snake?: string): unknown {
  const v = Object.hasOwn(o, camel) ? o[camel] : undefined;
  if (v !== undefined || snake === undefined) return v;
  return Object.hasOwn(o, snake) ? o[snake] : undefined;
}

function asObject(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DecodeError(`${what} must be an object`);
  return v as Obj;
}

function asArray(v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new DecodeError(`${what} must be an array`);
  return v;
}

/** Every string is taken in canonical form (src/text.ts), as the protobuf path gets it from UTF-8. */
function asString(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new DecodeError(`${what} must be a string`);
  return canonicalText(v);
}
