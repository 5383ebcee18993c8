/**
 * The customers question's sorts and row, shared by both stores (reads/customer-metric-reads.ts for DuckDB,
 * clickhouse/customer-metrics.ts): each sort as the ORDER BY both engines accept, ties broken by external id. Pure.
 */
import type { Picocents } from '../../src/money.ts';

export const CUSTOMER_SORTS = {
  '-profit': 'profit DESC, external_id',
  profit: 'profit ASC, external_id',
  '-costs': 'costs DESC, external_id',
  costs: 'costs ASC, external_id',
  '-revenue': 'revenue DESC, external_id',
  revenue: 'revenue ASC, external_id',
  '-ltv': 'ltv DESC, external_id',
  ltv: 'ltv ASC, external_id',
  '-margin': 'margin DESC NULLS LAST, external_id',
  margin: 'margin ASC NULLS LAST, external_id',
} as const;
export type CustomerSort = keyof typeof CUSTOMER_SORTS;

/** The question: a window [from, to) in µs, a sort, a page and an optional search of id or name. */
export interface CustomerMetricsQuery {
  readonly fromMicros: bigint;
  readonly toMicros: bigint;
  readonly sort: CustomerSort;
  readonly limit: number;
  readonly offset: number;
  readonly query?: string;
}

export interface CustomerMetricsRow {
  readonly externalId: string;
  readonly name: string | null;
  readonly createdAt: string;
  readonly revenue: Picocents;
  readonly costs: Picocents;
  /** The part of `costs` that is fixed bills allocated to the customer (price book `fixed`). */
  readonly allocatedCosts: Picocents;
  readonly ltv: Picocents;
}
