/**
 * Builds a cost trace (docs/contract.md §5) from a trace's stored spans: a forest ordered by start time, each
 * node with its own cost and its subtree's. Spans whose parent is not stored are roots, so cost that
 * cannot be placed is still shown. Money is summed as picocents (exact) and converted at the edge.
 */
import { formatPicocents, type Picocents, picocentsToNumber } from '../../src/money.ts';
import { type CustomerSource, effectiveCustomer, type JsonValue } from '../../src/records.ts';
import type { StoredSpan } from '../reads/span-reads.ts';

export interface TraceNode {
  span_id: string;
  parent_span_id: string | null;
  name: string;
  service_name: string | null;
  start_time: string;
  start_time_unix_nano: string;
  end_time_unix_nano: string;
  duration_ms: number;
  customer_id: string | null;
  customer_source: CustomerSource | null;
  attribution_pending: boolean;
  cost: number | null;
  cost_exact: string | null;
  cost_source: string | null;
  price_version: number | null;
  revenue: number | null;
  subtree_cost: number;
  subtree_cost_exact: string;
  attributes: Record<string, JsonValue>;
  children: TraceNode[];
}

export interface CostTrace {
  trace_id: string;
  customer_id: string | null;
  total_cost: number;
  total_cost_exact: string;
  unattributed_cost: number;
  span_count: number;
  spans: TraceNode[];
}

export function buildCostTrace(traceId: string, spans: readonly StoredSpan[]): CostTrace {
  const nodes = new Map<string, TraceNode>();
  const subtree = new Map<string, Picocents>();
  for (const s of spans) nodes.set(s.spanId, toNode(s));
  const roots: TraceNode[] = [];
  for (const s of spans) {
    const node = nodes.get(s.spanId) as TraceNode;
    const parent = s.parentSpanId === null ? undefined : nodes.get(s.parentSpanId);
    if (parent && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  // Spans caught in a parent cycle (bad data) are reachable from no root: show them as roots too.
  const reached = new Set<TraceNode>();
  const walk = (start: TraceNode) => {
    const stack = [start];
    while (stack.length > 0) {
      const n = stack.pop() as TraceNode;
      if (reached.has(n)) continue;
      reached.add(n);
      stack.push(...n.children);
    }
  };
  for (const r of roots) walk(r);
  for (const n of nodes.values()) {
    if (!reached.has(n)) {
      n.children = n.children.filter((c) => !reached.has(c));
      roots.push(n);
      walk(n);
    }
  }
  const byStart = (a: TraceNode, b: TraceNode) =>
    compareBig(BigInt(a.start_time_unix_nano), BigInt(b.start_time_unix_nano)) || a.span_id.localeCompare(b.span_id);
  let total = 0n;
  let unattributed = 0n;
  const own = new Map(spans.map((s) => [s.spanId, s.costPicocents ?? 0n]));
  const sum = (root: TraceNode): void => {
    // Post-order without recursion: traces can be deep.
    const order: TraceNode[] = [];
    const stack = [root];
    while (stack.length > 0) {
      const n = stack.pop() as TraceNode;
      order.push(n);
      n.children.sort(byStart);
      stack.push(...n.children);
    }
    for (let i = order.length - 1; i >= 0; i--) {
      const n = order[i] as TraceNode;
      let s = own.get(n.span_id) ?? 0n;
      for (const c of n.children) s += subtree.get(c.span_id) ?? 0n;
      subtree.set(n.span_id, s);
      n.subtree_cost = picocentsToNumber(s);
      n.subtree_cost_exact = formatPicocents(s);
    }
  };
  roots.sort(byStart);
  for (const r of roots) sum(r);
  for (const s of spans) {
    total += s.costPicocents ?? 0n;
    if (effectiveCustomer(s, s).customerId === null) unattributed += s.costPicocents ?? 0n;
  }
  return {
    trace_id: traceId,
    customer_id: roots[0]?.customer_id ?? null,
    total_cost: picocentsToNumber(total),
    total_cost_exact: formatPicocents(total),
    unattributed_cost: picocentsToNumber(unattributed),
    span_count: spans.length,
    spans: roots,
  };
}

function toNode(s: StoredSpan): TraceNode {
  const { customerId, source } = effectiveCustomer(s, s);
  return {
    span_id: s.spanId,
    parent_span_id: s.parentSpanId,
    name: s.name,
    service_name: s.serviceName,
    start_time: isoNanos(s.startTimeUnixNano),
    start_time_unix_nano: s.startTimeUnixNano.toString(),
    end_time_unix_nano: s.endTimeUnixNano.toString(),
    duration_ms: Number(s.endTimeUnixNano - s.startTimeUnixNano) / 1e6,
    customer_id: customerId,
    customer_source: source,
    attribution_pending: s.pending,
    cost: s.costPicocents === null ? null : picocentsToNumber(s.costPicocents),
    cost_exact: s.costPicocents === null ? null : formatPicocents(s.costPicocents),
    cost_source: s.costSource,
    price_version: s.priceVersion,
    revenue: s.revenuePicocents === null ? null : picocentsToNumber(s.revenuePicocents),
    subtree_cost: 0,
    subtree_cost_exact: '0',
    attributes: s.attributes,
    children: [],
  };
}

/** RFC 3339 with nanoseconds: 1544712660000000001n → "2018-12-13T14:51:00.000000001Z". */
export function isoNanos(unixNano: bigint): string {
  const ms = unixNano / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString();
  const fraction = (unixNano % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${fraction}Z`;
}

function compareBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
