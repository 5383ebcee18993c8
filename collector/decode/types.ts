/**
 * What both OTLP decoders (protobuf and JSON) produce: only the fields costtrace keeps, in one shape,
 * so everything downstream is encoding-agnostic.
 */

/** An OTLP AnyValue. int64 is a number when safe, else a bigint; kvlist is a Map (no prototype keys). */
export type AttrValue = string | number | bigint | boolean | Uint8Array | null | AttrValue[] | AttrMap;
export type AttrMap = Map<string, AttrValue>;

export interface DecodedResource {
  readonly attributes: AttrMap;
}

export interface DecodedSpan {
  /** Lower-case hex as received; validated (length, all-zero) by the pipeline, not the decoder. */
  readonly traceId: string;
  readonly spanId: string;
  /** '' when the span is a root. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP SpanKind number (0–5). */
  readonly kind: number;
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly statusCode: number;
  readonly attributes: AttrMap;
  readonly resource: DecodedResource;
  readonly scopeName: string;
}

/** The body was not a well-formed OTLP request: the whole request is rejected (HTTP 400). */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

/** Nesting limit for AnyValue arrays/kvlists: bad input must not blow the stack. */
export const MAX_VALUE_DEPTH = 32;
