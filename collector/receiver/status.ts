/**
 * OTLP/HTTP responses (opentelemetry-proto specification.md, "OTLP/HTTP Response"): success is an
 * ExportTraceServiceResponse, failures a google.rpc.Status, both in the request's encoding.
 * Protobuf is written by hand: two tiny messages, no codegen needed.
 */
export type Encoding = 'protobuf' | 'json';

export const CONTENT_TYPES: Record<Encoding, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

/** google.rpc.Code values used for Status.code. */
export const RPC_CODE = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** Encodes google.rpc.Status {code = 1, message = 2}. */
export function encodeStatus(encoding: Encoding, code: number, message: string): Buffer {
  if (encoding === 'json') return Buffer.from(JSON.stringify({ code, message }));
  return Buffer.concat([varintField(1, code), bytesField(2, Buffer.from(message, 'utf8'))]);
}

/**
 * ExportTraceServiceResponse; `partial_success` (field 1) is set only when spans were rejected:
 * ExportTracePartialSuccess {rejected_spans = 1 (int64), error_message = 2}.
 */
export function encodeExportResponse(encoding: Encoding, rejectedSpans: number, errorMessage: string): Buffer {
  if (encoding === 'json') {
    if (rejectedSpans === 0) return Buffer.from('{}');
    // proto3 JSON writes int64 as a string.
    return Buffer.from(JSON.stringify({ partialSuccess: { rejectedSpans: String(rejectedSpans), errorMessage } }));
  }
  if (rejectedSpans === 0) return Buffer.alloc(0);
  const partial = Buffer.concat([varintField(1, rejectedSpans), bytesField(2, Buffer.from(errorMessage, 'utf8'))]);
  return bytesField(1, partial);
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

function varintField(field: number, value: number): Buffer {
  return value === 0 ? Buffer.alloc(0) : Buffer.concat([varint((field << 3) | 0), varint(value)]);
}

function bytesField(field: number, value: Buffer): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(value.length), value]);
}
