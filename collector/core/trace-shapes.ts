/**
 * The cost-trace answers' shapes both stores give (reads/span-reads.ts for DuckDB, clickhouse/trace-reads.ts): a
 * stored span of a trace, the trace list's query, sorts (each an ORDER BY both engines accept) and rows. Pure.
 */
import type { Picocents } from '../../src/money.ts';
import type { CostSource, JsonValue } from '../../src/records.ts';

export interface StoredSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | null;
  readonly name: string;
  readonly kind: number;
  readonly serviceName: string | null;
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly customerOwn: string | null;
  readonly chainCustomer: string | null;
  readonly resourceCustomer: string | null;
  readonly pending: boolean;
  readonly costPicocents: Picocents | null;
  readonly costSource: CostSource | null;
  readonly priceVersion: number | null;
  readonly revenuePicocents: Picocents | null;
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
