/**
 * The one place that maps errors to HTTP statuses. Client mistakes are 4xx with a clear message;
 * overload and store trouble are 429/503 with Retry-After (retryable for OTLP clients); anything
 * unexpected is a 500 whose details go to the log, not the client.
 */

import { CollectorError, type FailureKind } from '../core/errors.ts';
import { MAX_PROBLEMS_REPORTED } from '../core/limits.ts';
import { RPC_CODE } from '../receiver/status.ts';

export interface HttpFailure {
  readonly statusCode: number;
  readonly rpcCode: number;
  readonly message: string;
  readonly retryAfterSeconds?: number;
  /** For 422: where each problem is, FastAPI/Polar style (`["query", "start_date"]`). */
  readonly detail?: ReadonlyArray<{ loc: Array<string | number>; msg: string; type: string }>;
  /** True when the server is at fault (log it). */
  readonly internal: boolean;
}

export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

type Problem = { loc: Array<string | number>; msg: string; type: string };

/**
 * Invalid request parameters or body (422), with the location of each problem: the first
 * MAX_PROBLEMS_REPORTED are listed and the message counts them all, so a huge invalid batch gets a small answer.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  readonly detail: readonly Problem[];
  constructor(problems: readonly Problem[]) {
    const detail = problems.slice(0, MAX_PROBLEMS_REPORTED);
    const listed = detail.slice(0, 5).map((d) => `${d.loc.join('.')}: ${d.msg}`);
    const more = problems.length > listed.length ? ` (${problems.length} problems in all` : '';
    const cap = problems.length > detail.length ? `; the first ${detail.length} are in detail)` : more ? ')' : '';
    super(`${listed.join('; ')}${more}${cap}`);
    this.detail = detail;
  }
}

const RPC_BY_STATUS: Record<number, number> = {
  400: RPC_CODE.INVALID_ARGUMENT,
  401: RPC_CODE.UNAUTHENTICATED,
  403: RPC_CODE.PERMISSION_DENIED,
  404: RPC_CODE.NOT_FOUND,
  405: RPC_CODE.UNIMPLEMENTED,
  408: RPC_CODE.DEADLINE_EXCEEDED,
  413: RPC_CODE.RESOURCE_EXHAUSTED,
  415: RPC_CODE.INVALID_ARGUMENT,
  422: RPC_CODE.INVALID_ARGUMENT,
  429: RPC_CODE.RESOURCE_EXHAUSTED,
  503: RPC_CODE.UNAVAILABLE,
};

/** The one mapping from failure kinds (collector/core/errors.ts) to HTTP statuses. */
const STATUS_BY_KIND: Record<FailureKind, number> = {
  malformed: 400,
  refused: 400,
  timeout: 408,
  too_large: 413,
  unsupported: 415,
  overloaded: 429,
  unavailable: 503,
};

function failure(statusCode: number, message: string, extra: Partial<HttpFailure> = {}): HttpFailure {
  return {
    statusCode,
    rpcCode: RPC_BY_STATUS[statusCode] ?? RPC_CODE.INTERNAL,
    message,
    internal: false,
    ...extra,
  };
}

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message: string;
  validation?: Array<{ instancePath: string; message?: string; params?: Record<string, unknown> }>;
  validationContext?: string;
}

export function classify(err: unknown): HttpFailure {
  if (err instanceof CollectorError) {
    const retry = err.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: err.retryAfterSeconds };
    return failure(STATUS_BY_KIND[err.kind], err.publicMessage, retry);
  }
  if (err instanceof InputError) return failure(422, err.message, { detail: err.detail });
  if (err instanceof HttpError) return failure(err.statusCode, err.message);
  const e = err as FastifyLikeError;
  if (e && Array.isArray(e.validation)) {
    const where = e.validationContext === 'querystring' ? 'query' : (e.validationContext ?? 'request');
    const detail = e.validation.map((v) => {
      const missing = v.params?.missingProperty;
      const path = v.instancePath.split('/').filter((p) => p !== '');
      const loc = [where, ...path, ...(typeof missing === 'string' ? [missing] : [])];
      return { loc, msg: v.message ?? 'invalid value', type: 'value_error' };
    });
    const input = new InputError(detail);
    return failure(422, input.message, { detail: input.detail });
  }
  if (e && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return failure(e.statusCode, e.message);
  }
  return { statusCode: 500, rpcCode: RPC_CODE.INTERNAL, message: 'internal error', internal: true };
}
