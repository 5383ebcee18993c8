/**
 * One LLM call counted once (collector/writer/llm-calls.ts): a producer's span and the SDK's own span beneath it,
 * in every arrival order and batching, leave exactly one span carrying the call's cost; calls that only look alike
 * (another model, other usage, no parent relation) are all counted.
 */
import { describe, expect, it } from 'vitest';
import { LlmCalls } from '../../../collector/writer/llm-calls.ts';
import type { SpanRecord } from '../../../src/records.ts';

const TRACE = 'ab'.repeat(16);

function span(spanId: string, parent: string | null, call: string | null, cost: bigint | null = 100n): SpanRecord {
  return {
    traceId: TRACE,
    spanId,
    parentSpanId: parent,
    name: spanId,
    kind: 3,
    serviceName: 'app',
    scopeName: 'test',
    startTimeUnixNano: 0n,
    endTimeUnixNano: 1n,
    statusCode: 0,
    customerOwn: null,
    resourceCustomer: null,
    costPicocents: call === null || call.endsWith('|-') ? null : cost,
    costSource: call === null ? null : call.endsWith('|-') ? 'unpriced' : 'inferred',
    priceVersion: null,
    revenuePicocents: null,
    attributesJson: call?.endsWith('|-') ? '{"_cost.unpriced_reason":"no token usage on the LLM span"}' : '{}',
    llmVendor: null,
    llmModel: null,
    llmCall: call,
  };
}

/** Feeds batches through one memory (committing each) and returns every span as stored. */
function store(batches: SpanRecord[][], calls = new LlmCalls()): Map<string, SpanRecord> {
  const stored = new Map<string, SpanRecord>();
  for (const batch of batches) {
    const plan = calls.plan(batch);
    calls.apply(plan);
    for (const r of plan.records) if (!stored.has(r.spanId)) stored.set(r.spanId, r);
  }
  return stored;
}

/** The spans of the call (outer, inner, a, b, c, p…) that carry a cost; unrelated traffic (`x…`) left out. */
const costed = (stored: Map<string, SpanRecord>) =>
  [...stored.values()].filter((r) => r.costPicocents !== null && !r.spanId.startsWith('x')).map((r) => r.spanId);
const duplicateOf = (r: SpanRecord | undefined) =>
  (JSON.parse(r?.attributesJson ?? '{}') as Record<string, unknown>)['_cost.duplicate_of'];

const SAME = 'claude-3-5-haiku|2000|500|100|400';
/** Arrival orders; `both` says whether the later span finds the earlier one still able to change (same batch). */
const ARRIVALS: Array<[string, (p: SpanRecord, c: SpanRecord) => SpanRecord[][], boolean]> = [
  ['together', (p, c) => [[c, p]], true],
  ['parent first in the batch', (p, c) => [[p, c]], true],
  ['child in an earlier request', (p, c) => [[c], [p]], false],
  ['parent in an earlier request', (p, c) => [[p], [c]], false],
  ['child, unrelated traffic, then parent', (p, c) => [[c], [span('x1', 'x0', 'gpt-4o|1|0|0|1')], [p]], false],
];
const NO_USAGE = 'claude-3-5-haiku|-';

describe.each(ARRIVALS)('a call described by a parent and its child (%s)', (_order, arrive, together) => {
  it('with the same model family and usage is counted once', () => {
    const stored = store(arrive(span('outer', 'root', SAME), span('inner', 'outer', SAME)));
    expect(costed(stored)).toHaveLength(1);
  });

  it('with the parent lacking usage (a stream its producer did not measure) is counted once, on the child', () => {
    const stored = store(arrive(span('outer', 'root', NO_USAGE), span('inner', 'outer', SAME)));
    expect(costed(stored)).toEqual(['inner']);
  });

  it('with the child lacking usage is counted once, on the parent', () => {
    const stored = store(arrive(span('outer', 'root', SAME), span('inner', 'outer', NO_USAGE)));
    expect(costed(stored)).toEqual(['outer']);
  });

  // A span already stored keeps its `unpriced` flag (the writer never rewrites a stored span for this): only a
  // partner arriving with it, or after it when the stored one carries the cost, is stored as the duplicate.
  it('stores the span without usage as a duplicate, not unpriced, whenever its partner is known first', () => {
    const parentless = store(arrive(span('outer', 'root', NO_USAGE), span('inner', 'outer', SAME)));
    const childless = store(arrive(span('outer', 'root', SAME), span('inner', 'outer', NO_USAGE)));
    const outer = parentless.get('outer');
    const inner = childless.get('inner');
    const parentFirst = _order === 'parent in an earlier request';
    if (together || !parentFirst) {
      expect(outer).toMatchObject({ costSource: null, costPicocents: null });
      expect(duplicateOf(outer)).toBe('inner');
      expect(outer?.attributesJson).not.toContain('unpriced_reason');
    } else expect(outer?.costSource).toBe('unpriced');
    if (together || parentFirst) {
      expect(inner?.costSource).toBeNull();
      expect(duplicateOf(inner)).toBe('outer');
    } else expect(inner?.costSource).toBe('unpriced');
  });

  it('with other usage, or another model, is two calls', () => {
    expect(
      costed(store(arrive(span('outer', 'root', SAME), span('inner', 'outer', 'claude-3-5-haiku|1|0|0|1')))),
    ).toHaveLength(2);
    expect(
      costed(store(arrive(span('outer', 'root', SAME), span('inner', 'outer', `gpt-4o${SAME.slice(16)}`)))),
    ).toHaveLength(2);
  });
});

describe('the rule', () => {
  it('puts the cost on the innermost span when both arrive together or the child first', () => {
    for (const batches of [
      [[span('c', 'p', SAME), span('p', null, SAME)]],
      [[span('c', 'p', SAME)], [span('p', null, SAME)]],
    ]) {
      const stored = store(batches);
      expect(costed(stored)).toEqual(['c']);
      expect(duplicateOf(stored.get('p'))).toBe('c');
    }
  });

  it('counts a chain of three spans of one call once, on the innermost', () => {
    const stored = store([[span('a', null, SAME), span('b', 'a', SAME), span('c', 'b', SAME)]]);
    expect(costed(stored)).toEqual(['c']);
  });

  it('counts two sibling calls with equal usage twice (they are two calls)', () => {
    const stored = store([[span('p', null, null), span('c1', 'p', SAME), span('c2', 'p', SAME)]]);
    expect(costed(stored).sort()).toEqual(['c1', 'c2']);
  });

  it('leaves a batch without LLM spans as it is', () => {
    const batch = [span('a', null, null), span('b', 'a', null)];
    expect(new LlmCalls().plan(batch).records).toBe(batch);
  });

  it('forgets beyond its capacity: a late parent then counts again (the documented worst case)', () => {
    const calls = new LlmCalls(4);
    const stored = store(
      [
        [span('inner', 'outer', SAME)],
        ...Array.from({ length: 6 }, (_, i) => [span(`x${i}`, `x${i}p`, 'gpt-4o|1|0|0|1')]),
        [span('outer', null, SAME)],
      ],
      calls,
    );
    expect(costed(stored).filter((id) => id === 'inner' || id === 'outer')).toHaveLength(2);
  });

  it('counts a chain of three once when it arrives over several requests', () => {
    for (const batches of [
      [[span('c', 'b', SAME), span('b', 'a', SAME)], [span('a', null, SAME)]],
      [[span('c', 'b', SAME)], [span('b', 'a', SAME)], [span('a', null, SAME)]],
      [[span('c', 'b', SAME)], [span('b', 'a', NO_USAGE)], [span('a', null, SAME)]],
    ]) {
      expect(costed(store(batches))).toEqual(['c']);
    }
  });

  it('keeps a stored parent counted when it is re-sent together with a new child', () => {
    const stored = store([[span('p', null, SAME)], [span('p', null, SAME), span('c', 'p', SAME)]]);
    expect(costed(stored)).toEqual(['p']);
    expect(duplicateOf(stored.get('c'))).toBe('p');
  });

  it('marks every copy of a span repeated within one batch', () => {
    const plan = new LlmCalls().plan([span('p', null, SAME), span('p', null, SAME), span('c', 'p', SAME)]);
    expect(plan.records.map((r) => [r.spanId, r.costPicocents])).toEqual([
      ['p', null],
      ['p', null],
      ['c', 100n],
    ]);
  });

  it('remembers a bounded number of children per parent', () => {
    const calls = new LlmCalls();
    const children = Array.from({ length: 100 }, (_, i) => span(`c${i}`, 'root', `gpt-4o|${i}|0|0|1`));
    calls.apply(calls.plan(children));
    calls.apply(calls.plan(children));
    const remembered = (calls as unknown as { children: { get(k: string): unknown[] | undefined } }).children.get(
      `${TRACE}root`,
    );
    expect(remembered).toHaveLength(16);
  });

  it('decides a deep chain of one call in one pass (linear, not quadratic)', () => {
    const chain = Array.from({ length: 20_000 }, (_, i) => span(`s${i}`, i === 0 ? null : `s${i - 1}`, SAME));
    const stored = store([chain.reverse()]);
    expect(costed(stored)).toEqual(['s19999']);
  });
});
