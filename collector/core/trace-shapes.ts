/**
 * The cost-trace answers' shapes both stores give (reads/span-reads.ts for DuckDB, clickhouse/trace-reads.ts): a
 * stored span of a trace, the trace list's query, sorts (each an ORDER BY both engines accept) and rows. Pure.
 */
import type { Picocents } from '../../src/money.ts';
import type { JsonValue, SpanRecord } from '../../src/records.ts';

/** A stored span of a trace: the span's own fields, its attribution, and its attributes parsed. */
export interface StoredSpan
  extends Pick<
    SpanRecord,
    | 'traceId'
    | 'spanId'
    | 'parentSpanId'
    | 'name'
    | 'kind'
    | 'serviceName'
    | 'startTimeUnixNano'
    | 'endTimeUnixNano'
    | 'customerOwn'
    | 'resourceCustomer'
    | 'costPicocents'
    | 'costSource'
    | 'priceVersion'
    | 'revenuePicocents'
  > {
  readonly chainCustomer: string | null;
  readonly pending: boolean;
  readonly attributes: Record<string, JsonValue>;
}

export const TRACE_SORTS = {
  '-cost': 'cost DESC NULLS LAST, trace_id',
  cost: 'cost ASC NULLS FIRST, trace_id',
  '-start_time': 'start_ts DESC, trace_id',
  start_time: 'start_ts ASC, trace_id',
} as const;
export type TraceSort = keyof typeof TRACE_SORTS;

export interface TraceListQuery {
  readonly customerId?: string;
  /** Inclusive lower bound, µs since epoch (UTC). */
  readonly fromMicros?: bigint;
  /** Exclusive upper bound, µs since epoch (UTC). */
  readonly toMicros?: bigint;
  readonly sort: TraceSort;
  readonly limit: number;
  readonly offset: number;
}

export interface TraceSummary {
  readonly traceId: string;
  readonly rootName: string;
  readonly startTimeUnixNano: bigint;
  readonly spanCount: number;
  readonly costPicocents: Picocents;
  readonly unpricedSpans: number;
}
