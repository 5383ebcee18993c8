/**
 * One LLM call counted once (README "GenAI producers"). Producers nest spans of one call: OpenLLMetry's
 * `chat <model>` span wraps the Anthropic SDK's own `anthropic.messages.create`, both with the model and usage;
 * LangChain-style wrappers do the same. Rule, for a span and its parent that are both LLM calls of the same model
 * family (src/genai.ts modelFamily):
 * - same usage, or the parent has none → the parent repeats the child's call: the innermost span carries the cost
 *   (it is the call on the wire), the parent is stored without one;
 * - the child has no usage and the parent has → the child repeats the parent's call.
 * A repeating span is stored with no cost and `_cost.duplicate_of = <span id>`, which re-pricing keeps.
 *
 * Spans of one call come from one process: a parent arrives with or after its children (children end first), so
 * the writer remembers the recent LLM spans that carry a cost by their parent (and by their own id). Worst case,
 * documented: a parent arriving first, then a child with the same usage, keeps its cost and the child is the
 * one stored without (the total is the same); a partner more than MEMORY_CALLS LLM spans or a restart apart is
 * not matched and the call counts twice. Memory: two generations of at most MEMORY_CALLS / 2 entries each.
 */
import type { SpanRecord } from '../../src/records.ts';
import { ATTR_COST_DUPLICATE_OF, ATTR_COST_UNPRICED_REASON } from '../../src/semconv.ts';

export const MEMORY_CALLS = 200_000;

interface Remembered {
  readonly call: string;
  /** Whether this span carries its call's cost (not a duplicate). */
  readonly counted: boolean;
}

export interface CallsPlan {
  readonly records: readonly SpanRecord[];
  readonly remember: ReadonlyArray<{ readonly record: SpanRecord; readonly counted: boolean }>;
}

/** Two generations of a bounded map: lookups read both, the older is dropped whole when the young one fills. */
class Generations<V> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();
  constructor(private readonly capacity: number) {}
  get(k: string): V | undefined {
    return this.young.get(k) ?? this.old.get(k);
  }
  set(k: string, v: V): void {
    this.young.set(k, v);
    if (this.young.size >= this.capacity / 2) {
      this.old = this.young;
      this.young = new Map();
    }
  }
}

export class LlmCalls {
  private readonly spans: Generations<Remembered>;
  /** Counted LLM spans by (trace, parent span): the children a late parent may repeat. */
  private readonly children: Generations<Array<{ spanId: string; call: string }>>;

  constructor(capacity = MEMORY_CALLS) {
    this.spans = new Generations(capacity);
    this.children = new Generations(capacity);
  }

  /** The batch with the spans that repeat a call marked; memory changes only on `apply`, after the commit. */
  plan(records: readonly SpanRecord[]): CallsPlan {
    const llm = records.filter((r) => r.llmCall !== null);
    if (llm.length === 0) return { records, remember: [] };
    const byId = new Map<string, SpanRecord>();
    const childrenOf = new Map<string, SpanRecord[]>();
    for (const r of llm) {
      const k = key(r.traceId, r.spanId);
      if (byId.has(k)) continue;
      byId.set(k, r);
      if (r.parentSpanId === null) continue;
      const pk = key(r.traceId, r.parentSpanId);
      const list = childrenOf.get(pk);
      if (list) list.push(r);
      else childrenOf.set(pk, [r]);
    }
    const duplicateOf = new Map<SpanRecord, string>();
    for (const r of byId.values()) {
      const of = this.repeats(r, byId, childrenOf);
      if (of !== null) duplicateOf.set(r, of);
    }
    const remember = [...byId.values()].map((record) => ({ record, counted: !duplicateOf.has(record) }));
    if (duplicateOf.size === 0) return { records, remember };
    return { records: records.map((r) => markedOrSame(r, duplicateOf.get(r))), remember };
  }

  /** The span id whose call `r` repeats, or null. */
  private repeats(
    r: SpanRecord,
    byId: ReadonlyMap<string, SpanRecord>,
    childrenOf: ReadonlyMap<string, readonly SpanRecord[]>,
  ): string | null {
    const call = r.llmCall as string;
    const own = key(r.traceId, r.spanId);
    for (const c of childrenOf.get(own) ?? []) if (parentRepeats(call, c.llmCall as string)) return c.spanId;
    for (const c of this.children.get(own) ?? []) if (parentRepeats(call, c.call)) return c.spanId;
    if (r.parentSpanId === null) return null;
    const pk = key(r.traceId, r.parentSpanId);
    const inBatch = byId.get(pk);
    if (inBatch !== undefined) return childRepeats(call, inBatch.llmCall as string) ? inBatch.spanId : null;
    const stored = this.spans.get(pk);
    if (stored === undefined || !stored.counted) return null;
    // The parent came first and carries the cost: this child is the repeat (same usage, or none of its own).
    return stored.call === call || childRepeats(call, stored.call) ? r.parentSpanId : null;
  }

  /** Records a committed plan. */
  apply(plan: CallsPlan): void {
    for (const { record: r, counted } of plan.remember) {
      this.spans.set(key(r.traceId, r.spanId), { call: r.llmCall as string, counted });
      if (!counted || r.parentSpanId === null) continue;
      const pk = key(r.traceId, r.parentSpanId);
      const list = this.children.get(pk);
      const entry = { spanId: r.spanId, call: r.llmCall as string };
      if (list) list.push(entry);
      else this.children.set(pk, [entry]);
    }
  }
}

/** Call keys are `family|usage…` or `family|-` (no usage): src/llm-usage.ts callKey. */
function family(call: string): string {
  return call.slice(0, call.indexOf('|'));
}

function hasUsage(call: string): boolean {
  return !call.endsWith('|-');
}

/** A parent repeats its child's call: same family, and the same usage or none of its own. */
function parentRepeats(parent: string, child: string): boolean {
  return family(parent) === family(child) && (parent === child || !hasUsage(parent));
}

/** A child repeats its parent's call: same family, no usage of its own, and the parent has some. */
function childRepeats(child: string, parent: string): boolean {
  return family(parent) === family(child) && !hasUsage(child) && hasUsage(parent);
}

function markedOrSame(r: SpanRecord, duplicateOf: string | undefined): SpanRecord {
  if (duplicateOf === undefined) return r;
  const attributes = JSON.parse(r.attributesJson) as Record<string, unknown>;
  delete attributes[ATTR_COST_UNPRICED_REASON];
  attributes[ATTR_COST_DUPLICATE_OF] = duplicateOf;
  return {
    ...r,
    costPicocents: null,
    costSource: null,
    priceVersion: null,
    attributesJson: JSON.stringify(attributes),
  };
}

function key(traceId: string, spanId: string): string {
  return traceId + spanId;
}
