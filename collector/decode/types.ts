/**
 * What both OTLP decoders (protobuf and JSON) produce: only the fields costtrace keeps, in one shape,
 * so everything downstream is encoding-agnostic.
 */
import { CollectorError } from '../core/errors.ts';
import { MAX_ATTRIBUTES_PER_REQUEST, MAX_SPANS_PER_REQUEST } from '../core/limits.ts';

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

/**
 * The body was not a well-formed OTLP request (malformed), or is over a per-request limit (too_large): the
 * whole request is rejected. Neither is retryable as it is (OTLP/HTTP "Failures").
 */
export class DecodeError extends CollectorError {
  override readonly name = 'DecodeError';
  constructor(message: string, kind: 'malformed' | 'too_large' = 'malformed') {
    super(kind, message);
  }

  override get publicMessage(): string {
    return this.kind === 'malformed' ? `invalid OTLP request: ${this.message}` : this.message;
  }
}

/**
 * Counts what one request makes (spans, their containers, attributes) and stops decoding as soon as a
 * limit is passed, so a tiny upload of empty items cannot make millions of objects.
 */
export class DecodeBudget {
  private spans = 0;
  private containers = 0;
  private attributes = 0;

  span(): void {
    if (++this.spans > MAX_SPANS_PER_REQUEST) throw overLimit(`more than ${MAX_SPANS_PER_REQUEST} spans`);
  }

  /** A resource_spans or scope_spans entry. */
  container(): void {
    if (++this.containers > MAX_SPANS_PER_REQUEST) {
      throw overLimit(`more than ${MAX_SPANS_PER_REQUEST} resource_spans/scope_spans entries`);
    }
  }

  attribute(): void {
    if (++this.attributes > MAX_ATTRIBUTES_PER_REQUEST) {
      throw overLimit(`more than ${MAX_ATTRIBUTES_PER_REQUEST} attributes`);
    }
  }
}

function overLimit(what: string): DecodeError {
  return new DecodeError(`request has ${what} (limit per request); send smaller batches`, 'too_large');
}

/** Nesting limit for AnyValue arrays/kvlists: bad input must not blow the stack. */
export const MAX_VALUE_DEPTH = 32;
