/**
 * The writer's memory for attribution across requests: recently settled spans (so a child arriving in a
 * later request finds its parent without a query) and pending spans (whose chain stops at a parent not
 * seen yet). `plan` computes a batch's attribution; `apply` records it only after the batch committed,
 * so a failed write leaves this state untouched.
 *
 * Bounds: up to `recentCapacity` settled spans, in two generations (the older is dropped whole, O(1);
 * a miss falls back to one DuckDB
 * look-up per batch) and `pendingCapacity` pending spans (beyond it the oldest stop waiting in memory
 * and keep their resource/unattributed customer until a restart reloads them).
 */
import { type AttributedSpan, type Attribution, effectiveCustomer, type SpanRecord } from '../../src/records.ts';
import { type ChainNode, missingParents, resolveTrace } from '../pipeline/attribution.ts';
import type { AttributionUpdate, ParentKey, PendingSpan, SettledSpan } from './attribution-types.ts';

export type { ParentKey, PendingSpan, SettledSpan } from './attribution-types.ts';

export type SettledLoader = (keys: ParentKey[]) => Promise<SettledSpan[]>;

export interface AttributionPlan {
  readonly spans: AttributedSpan[];
  readonly updates: AttributionUpdate[];
  readonly settled: SettledSpan[];
  readonly nowPending: PendingSpan[];
}

export class AttributionState {
  /** Two generations: lookups read both; when the young one fills, the old one is dropped whole. */
  private recent = new Map<string, Attribution>();
  private recentOld = new Map<string, Attribution>();
  private readonly pending = new Map<string, Map<string, PendingSpan>>();
  private pendingCount = 0;

  constructor(
    private readonly recentCapacity: number,
    private readonly pendingCapacity: number,
  ) {}

  get pendingSpans(): number {
    return this.pendingCount;
  }

  loadPending(spans: readonly PendingSpan[]): void {
    for (const p of spans) this.addPending(p);
  }

  async plan(records: readonly SpanRecord[], loadSettled: SettledLoader): Promise<AttributionPlan> {
    const byTrace = new Map<string, SpanRecord[]>();
    for (const r of records) {
      const list = byTrace.get(r.traceId);
      if (list) list.push(r);
      else byTrace.set(r.traceId, [r]);
    }
    // Parents referenced from outside the batch that memory does not know: one look-up for all.
    const fromDb = new Map<string, Attribution>();
    const toLoad: ParentKey[] = [];
    const nodesByTrace = new Map<string, ChainNode[]>();
    for (const [traceId, list] of byTrace) {
      const nodes: ChainNode[] = list.slice();
      const pend = this.pending.get(traceId);
      if (pend) for (const p of pend.values()) nodes.push(p);
      nodesByTrace.set(traceId, nodes);
      let nearMicros: bigint | undefined;
      for (const parent of missingParents(nodes)) {
        if (this.recall(key(traceId, parent)) !== undefined) continue;
        nearMicros ??= earliestStart(list, pend);
        toLoad.push({ traceId, spanId: parent, nearMicros });
      }
    }
    if (toLoad.length > 0) {
      for (const s of await loadSettled(toLoad)) fromDb.set(key(s.traceId, s.spanId), s);
    }

    const spans: AttributedSpan[] = [];
    const updates: AttributionUpdate[] = [];
    const settled: SettledSpan[] = [];
    const nowPending: PendingSpan[] = [];
    for (const [traceId, list] of byTrace) {
      const nodes = nodesByTrace.get(traceId) as ChainNode[];
      const lookup = (spanId: string): Attribution | undefined => {
        const k = key(traceId, spanId);
        const a = this.recall(k) ?? fromDb.get(k);
        // A stored span that is itself pending does not settle its children.
        return a === undefined || a.pending ? undefined : a;
      };
      const resolved = resolveTrace(nodes, lookup);
      const inBatch = new Set<string>();
      for (const r of list) {
        if (inBatch.has(r.spanId)) continue;
        inBatch.add(r.spanId);
        const a = resolved.get(r.spanId) as Attribution;
        spans.push({ record: r, attribution: a });
        track(traceId, r, a, settled, nowPending);
      }
      const pend = this.pending.get(traceId);
      if (!pend) continue;
      for (const p of pend.values()) {
        if (inBatch.has(p.spanId)) continue;
        const a = resolved.get(p.spanId) as Attribution;
        if (a.pending && a.chainCustomer === null) continue; // still waiting, nothing to write
        updates.push({
          traceId,
          spanId: p.spanId,
          chainCustomer: a.chainCustomer,
          pending: false,
          customerId: effectiveCustomer(p, a).customerId,
          previousCustomerId: p.resourceCustomer,
          tsMicros: p.tsMicros,
          costPicocents: p.costPicocents,
          revenuePicocents: p.revenuePicocents,
        });
        settled.push({ traceId, spanId: p.spanId, chainCustomer: a.chainCustomer, pending: false });
      }
    }
    return { spans, updates, settled, nowPending };
  }

  /** Records a committed plan. */
  apply(plan: AttributionPlan): void {
    for (const s of plan.settled) {
      this.removePending(s.traceId, s.spanId);
      this.remember(key(s.traceId, s.spanId), { chainCustomer: s.chainCustomer, pending: false });
    }
    for (const p of plan.nowPending) this.addPending(p);
  }

  private recall(k: string): Attribution | undefined {
    return this.recent.get(k) ?? this.recentOld.get(k);
  }

  private remember(k: string, a: Attribution): void {
    this.recent.set(k, a);
    if (this.recent.size >= this.recentCapacity / 2) {
      this.recentOld = this.recent;
      this.recent = new Map();
    }
  }

  /** Retention settled every span that started before the cutoff: they stop waiting for ancestors. */
  settleBefore(cutoffMicros: bigint): void {
    for (const [traceId, spans] of this.pending) {
      for (const [spanId, p] of spans) {
        if (p.tsMicros >= cutoffMicros) continue;
        spans.delete(spanId);
        this.pendingCount--;
      }
      if (spans.size === 0) this.pending.delete(traceId);
    }
  }

  private addPending(p: PendingSpan): void {
    let m = this.pending.get(p.traceId);
    if (!m) {
      m = new Map();
      this.pending.set(p.traceId, m);
    }
    if (!m.has(p.spanId)) this.pendingCount++;
    m.set(p.spanId, p);
    if (this.pendingCount > this.pendingCapacity) {
      // Evict the oldest traces down to 90% in one pass (re-reading the head after each delete would walk
      // the deleted slots again and again).
      for (const [traceId, spans] of this.pending) {
        if (this.pendingCount <= this.pendingCapacity * 0.9) break;
        this.pending.delete(traceId);
        this.pendingCount -= spans.size;
      }
    }
  }

  private removePending(traceId: string, spanId: string): void {
    const m = this.pending.get(traceId);
    if (m?.delete(spanId)) {
      this.pendingCount--;
      if (m.size === 0) this.pending.delete(traceId);
    }
  }
}

function track(
  traceId: string,
  r: SpanRecord,
  a: Attribution,
  settled: SettledSpan[],
  nowPending: PendingSpan[],
): void {
  if (a.pending && a.chainCustomer === null) {
    nowPending.push({
      traceId,
      spanId: r.spanId,
      parentSpanId: r.parentSpanId,
      customerOwn: r.customerOwn,
      resourceCustomer: r.resourceCustomer,
      tsMicros: r.startTimeUnixNano / 1000n,
      costPicocents: r.costPicocents,
      revenuePicocents: r.revenuePicocents,
    });
  } else {
    settled.push({ traceId, spanId: r.spanId, chainCustomer: a.chainCustomer, pending: false });
  }
}

function key(traceId: string, spanId: string): string {
  return traceId + spanId;
}

function earliestStart(records: readonly SpanRecord[], pending: ReadonlyMap<string, PendingSpan> | undefined): bigint {
  let min = (records[0] as SpanRecord).startTimeUnixNano / 1000n;
  for (const r of records) if (r.startTimeUnixNano / 1000n < min) min = r.startTimeUnixNano / 1000n;
  if (pending) for (const p of pending.values()) if (p.tsMicros < min) min = p.tsMicros;
  return min;
}
