/**
 * Failures, classified where they are born (as the OpenTelemetry Collector's consumererror does) and mapped to
 * HTTP statuses in one place (http/errors.ts). Every layer below HTTP — body reading, decoding, the store —
 * throws a CollectorError of one kind; the kind says whether the client can fix it (permanent) or should
 * retry (retryable), and nothing below the HTTP layer names a status code.
 */
export type FailureKind =
  /** The request cannot be read as what it claims to be (a malformed body). */
  | 'malformed'
  /** The store refused this request's own data: permanent, retrying cannot help. */
  | 'refused'
  /** The body stalled or the request took too long. */
  | 'timeout'
  /** Over a size or count limit. */
  | 'too_large'
  /** A media type or content encoding we do not read. */
  | 'unsupported'
  /** Over capacity (queue, upload budget): retry after a while. */
  | 'overloaded'
  /** The store or a worker is failing, or the collector is shutting down: retry. */
  | 'unavailable';

export class CollectorError extends Error {
  override readonly name: string = 'CollectorError';
  constructor(
    readonly kind: FailureKind,
    message: string,
    /** For retryable kinds: when to try again. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  get retryable(): boolean {
    return this.kind === 'overloaded' || this.kind === 'unavailable';
  }

  /** What the client is told (subclasses may add context). */
  get publicMessage(): string {
    return this.message;
  }
}

/** A snapshot the request cannot have: `conflict` (the path exists) → 409, `invalid` (a path it may not use) → 422. */
export class SnapshotRefused extends Error {
  override readonly name = 'SnapshotRefused';
  constructor(
    readonly kind: 'conflict' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}
