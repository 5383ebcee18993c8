/**
 * One LLM call counted once (README "GenAI producers"). Producers nest spans of one call: OpenLLMetry's
 * `chat <model>` span wraps the Anthropic SDK's own `anthropic.messages.create`, both with the model and usage;
 * LangChain-style wrappers do the same. Rule, for a span and its parent that are both LLM calls of the same model
 * family (src/genai.ts modelFamily):
 * - same usage, or the parent has none → the parent repeats the child's call: the innermost span carries the cost
 *   (it is the call on the wire), the parent is stored without one;
 * - the child has no usage and the parent has → the child repeats the parent's call.
 * A repeating span is stored with no cost and `_cost.duplicate_of = <span id>`, which re-pricing keeps. A chain of
 * three (Langfuse over OpenLLMetry over the SDK) is one call too: a span stands for its partner's call.
 *
 * Spans of one call come from one process: a parent arrives with or after its children (children end first), so
 * the writer remembers recent LLM spans by their parent and by their own id. Worst cases, documented: a parent
 * stored first keeps its cost and the later child is the repeat (same total); a span stored `unpriced` before its
 * partner arrived keeps that flag; a partner more than MEMORY_CALLS LLM spans or a restart apart is not matched
 * and the call counts twice. Memory: two generations of at most MEMORY_CALLS / 2 entries per map, at most
 * MEMORY_CHILDREN_PER_PARENT children per parent.
 */
import type { SpanRecord } from '../../src/records.ts';
import { ATTR_COST_DUPLICATE_OF, ATTR_COST_UNPRICED_REASON } from '../../src/semconv.ts';

export const MEMORY_CALLS = 200_000;
/** Children remembered per parent span (a batch job may hang thousands of calls under one root). */
export const MEMORY_CHILDREN_PER_PARENT = 16;

/** What the writer decided for one LLM span. */
interface Verdict {
  /** The span whose call this one repeats (then stored without a cost), or null when it carries its call. */
  readonly partner: string | null;
  /** The call it stands for: its own, or its partner's (a span without usage repeating one with). */
  readonly effective: string;
}

interface Remembered extends Verdict {
  readonly spanId: string;
}

export interface CallsPlan {
  readonly records: readonly SpanRecord[];
  readonly remember: ReadonlyArray<{ readonly record: SpanRecord; readonly verdict: Verdict }>;
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
  /** Every recent LLM span's verdict, by (trace, span). */
  private readonly spans: Generations<Verdict>;
  /** Recent LLM spans by (trace, parent span): the children a late parent may repeat. */
  private readonly children: Generations<Remembered[]>;

  constructor(capacity = MEMORY_CALLS) {
    this.spans = new Generations(capacity);
    this.children = new Generations(capacity);
  }

  /** The batch with the spans that repeat a call marked; memory changes only on `apply`, after the commit. */
  plan(records: readonly SpanRecord[]): CallsPlan {
    const byId = new Map<string, SpanRecord>();
    const childrenOf = new Map<string, SpanRecord[]>();
    for (const r of records) {
      if (r.llmCall === null) continue;
      const k = key(r.traceId, r.spanId);
      if (byId.has(k)) continue;
      byId.set(k, r);
      if (r.parentSpanId === null) continue;
      const pk = key(r.traceId, r.parentSpanId);
      const list = childrenOf.get(pk);
      if (list) list.push(r);
      else childrenOf.set(pk, [r]);
    }
    if (byId.size === 0) return { records, remember: [] };
    // Children before their parents, so a parent sees what its children stand for (chains of three and more).
    const depths = depthsIn(byId);
    const order = [...byId.entries()].map(([k, r]) => ({ k, r, depth: depths.get(k) ?? 0 }));
    order.sort((a, b) => b.depth - a.depth);
    const verdicts = new Map<string, Verdict>();
    for (const { k, r } of order) verdicts.set(k, this.decide(r, byId, childrenOf, verdicts));
    const remember = order.map(({ k, r }) => ({ record: r, verdict: verdicts.get(k) as Verdict }));
    if (remember.every((m) => m.verdict.partner === null)) return { records, remember };
    return {
      records: records.map((r) => {
        const partner = r.llmCall === null ? null : (verdicts.get(key(r.traceId, r.spanId))?.partner ?? null);
        return partner === null ? r : marked(r, partner);
      }),
      remember,
    };
  }

  private decide(
    r: SpanRecord,
    byId: ReadonlyMap<string, SpanRecord>,
    childrenOf: ReadonlyMap<string, readonly SpanRecord[]>,
    verdicts: ReadonlyMap<string, Verdict>,
  ): Verdict {
    const call = r.llmCall as string;
    const own = key(r.traceId, r.spanId);
    // A child (of this batch, decided already, or remembered) that describes the same call: this span repeats it.
    for (const c of childrenOf.get(own) ?? []) {
      const v = verdicts.get(key(c.traceId, c.spanId)) as Verdict;
      if (v.partner !== r.spanId && parentRepeats(call, v.effective))
        return { partner: c.spanId, effective: v.effective };
    }
    for (const c of this.children.get(own) ?? []) {
      if (c.partner !== r.spanId && parentRepeats(call, c.effective))
        return { partner: c.spanId, effective: c.effective };
    }
    if (r.parentSpanId === null) return { partner: null, effective: call };
    const pk = key(r.traceId, r.parentSpanId);
    // A parent stored before, carrying the call: this child is the repeat (the stored cost stays where it is).
    const stored = this.spans.get(pk);
    if (stored !== undefined) {
      const repeats = stored.partner === null && (stored.effective === call || childRepeats(call, stored.effective));
      return repeats ? { partner: r.parentSpanId, effective: stored.effective } : { partner: null, effective: call };
    }
    const parent = byId.get(pk);
    if (parent !== undefined && childRepeats(call, parent.llmCall as string)) {
      return { partner: r.parentSpanId, effective: parent.llmCall as string };
    }
    return { partner: null, effective: call };
  }

  /** Records a committed plan. */
  apply(plan: CallsPlan): void {
    for (const { record: r, verdict } of plan.remember) {
      this.spans.set(key(r.traceId, r.spanId), verdict);
      if (r.parentSpanId === null) continue;
      const pk = key(r.traceId, r.parentSpanId);
      const list = this.children.get(pk);
      const entry = { spanId: r.spanId, ...verdict };
      if (list === undefined) this.children.set(pk, [entry]);
      else if (list.length < MEMORY_CHILDREN_PER_PARENT && !list.some((c) => c.spanId === r.spanId)) list.push(entry);
    }
  }
}

/**
 * How many of each span's ancestors are in the batch, remembered along the way so a long chain costs linear time
 * (a cycle, which is bad data, ends the walk).
 */
function depthsIn(byId: ReadonlyMap<string, SpanRecord>): Map<string, number> {
  const depths = new Map<string, number>();
  for (const [k, start] of byId) {
    if (depths.has(k)) continue;
    const path: string[] = [];
    const onPath = new Set<string>();
    let at: string | undefined = k;
    let r: SpanRecord | undefined = start;
    let base = -1;
    while (at !== undefined && r !== undefined) {
      const known = depths.get(at);
      if (known !== undefined) {
        base = known;
        break;
      }
      if (onPath.has(at)) break;
      onPath.add(at);
      path.push(at);
      at = r.parentSpanId === null ? undefined : key(r.traceId, r.parentSpanId);
      r = at === undefined ? undefined : byId.get(at);
    }
    for (let i = path.length - 1; i >= 0; i--) depths.set(path[i] as string, ++base);
  }
  return depths;
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

function marked(r: SpanRecord, duplicateOf: string): SpanRecord {
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
