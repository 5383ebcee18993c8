/** Builders for OTLP requests in both encodings, and decoders for responses (via protobufjs). */
import { fileURLToPath } from 'node:url';
import Long from 'long';
import protobuf from 'protobufjs';

const PROTO = fileURLToPath(new URL('../fixtures/otlp-trace.proto', import.meta.url));
export const protoRoot = protobuf.loadSync(PROTO);
const PKG = 'opentelemetry.proto.collector.trace.v1';
export const ExportRequest = protoRoot.lookupType(`${PKG}.ExportTraceServiceRequest`);
export const ExportResponse = protoRoot.lookupType(`${PKG}.ExportTraceServiceResponse`);
export const RpcStatus = protoRoot.lookupType(`${PKG}.RpcStatus`);

export type JsonAnyValue =
  | { stringValue: string }
  | { intValue: number | string }
  | { doubleValue: number | string }
  | { boolValue: boolean }
  | { kvlistValue: { values: JsonKeyValue[] } }
  | { arrayValue: { values: JsonAnyValue[] } };
export interface JsonKeyValue {
  key: string;
  value: JsonAnyValue;
}

export interface SpanSpec {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name?: string;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes?: Record<string, string | number | boolean | JsonAnyValue>;
}

export function attr(key: string, v: string | number | boolean | JsonAnyValue): JsonKeyValue {
  if (typeof v === 'string') return { key, value: { stringValue: v } };
  if (typeof v === 'boolean') return { key, value: { boolValue: v } };
  if (typeof v === 'number') return { key, value: Number.isInteger(v) ? { intValue: v } : { doubleValue: v } };
  return { key, value: v };
}

/** An OTLP/JSON ExportTraceServiceRequest with one resource and one scope. */
export function jsonRequest(
  spans: SpanSpec[],
  resource: Record<string, string | number | boolean> = { 'service.name': 'test-service' },
): Record<string, unknown> {
  return {
    resourceSpans: [
      {
        resource: { attributes: Object.entries(resource).map(([k, v]) => attr(k, v)) },
        scopeSpans: [
          {
            scope: { name: 'test-scope' },
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name ?? `span ${s.spanId}`,
              kind: 1,
              startTimeUnixNano: s.startTimeUnixNano ?? '1700000000000000000',
              endTimeUnixNano: s.endTimeUnixNano ?? '1700000000500000000',
              attributes: Object.entries(s.attributes ?? {}).map(([k, v]) => attr(k, v)),
            })),
          },
        ],
      },
    ],
  };
}

/** The same request encoded as protobuf (protobufjs, independent of costtrace's decoder). */
export function protobufRequest(json: Record<string, unknown>): Buffer {
  const hexToBytes = (h: unknown) => (typeof h === 'string' ? Buffer.from(h, 'hex') : h);
  const convert = (o: unknown): unknown => {
    if (Array.isArray(o)) return o.map(convert);
    if (o === null || typeof o !== 'object') return o;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) {
      if (k === 'traceId' || k === 'spanId' || k === 'parentSpanId') out[k] = hexToBytes(v);
      else if (k === 'startTimeUnixNano' || k === 'endTimeUnixNano') out[k] = Long.fromString(String(v), true);
      else out[k] = convert(v);
    }
    return out;
  };
  const msg = ExportRequest.fromObject(convert(json) as Record<string, unknown>);
  return Buffer.from(ExportRequest.encode(msg).finish());
}

export function decodeProtoResponse(body: Buffer): { rejectedSpans: number; errorMessage: string } | null {
  const obj = ExportResponse.toObject(ExportResponse.decode(body), { longs: Number }) as {
    partialSuccess?: { rejectedSpans?: number; errorMessage?: string };
  };
  if (!obj.partialSuccess) return null;
  return { rejectedSpans: obj.partialSuccess.rejectedSpans ?? 0, errorMessage: obj.partialSuccess.errorMessage ?? '' };
}

export function decodeProtoStatus(body: Buffer): { code: number; message: string } {
  const obj = RpcStatus.toObject(RpcStatus.decode(body), { defaults: true }) as { code: number; message: string };
  return obj;
}

/** Deterministic hex ids for tests. */
export function traceIdOf(n: number): string {
  return `${(n + 1).toString(16).padStart(8, '0')}${'ab'.repeat(12)}`;
}
export function spanIdOf(n: number): string {
  return (n + 1).toString(16).padStart(16, '0');
}
