import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChainNode, resolveTrace } from '../../../collector/pipeline/attribution.ts';
import { startTestCollector, type TestCollector } from '../../helpers/collector.ts';
import { post } from '../../helpers/http.ts';
import { attr } from '../../helpers/otlp.ts';

describe('resolveTrace (pure)', () => {
  const n = (spanId: string, parentSpanId: string | null, customerOwn: string | null = null): ChainNode => ({
    spanId,
    parentSpanId,
    customerOwn,
  });

  it.each([
    ['own customer wins', [n('a', null, 'x'), n('b', 'a', 'y')], { a: ['x', false], b: ['y', false] }],
    [
      'inherits from the nearest ancestor',
      [n('a', null, 'x'), n('b', 'a'), n('c', 'b')],
      { b: ['x', false], c: ['x', false] },
    ],
    ['root without customer settles empty', [n('a', null), n('b', 'a')], { a: [null, false], b: [null, false] }],
    ['missing parent makes the chain pending', [n('b', 'a'), n('c', 'b')], { b: [null, true], c: [null, true] }],
    ['a cycle ends without a customer', [n('a', 'b'), n('b', 'a')], { a: [null, false], b: [null, false] }],
    ['a self-parent ends without a customer', [n('a', 'a')], { a: [null, false] }],
  ])('%s', (_name, nodes, expected) => {
    const out = resolveTrace(nodes, () => undefined);
    const got = Object.fromEntries([...out].map(([k, v]) => [k, [v.chainCustomer, v.pending]]));
    expect(got).toMatchObject(expected);
  });

  it('uses settled ancestors stored earlier', () => {
    const out = resolveTrace([n('c', 'b')], (id) => (id === 'b' ? { chainCustomer: 'z', pending: false } : undefined));
    expect(out.get('c')).toEqual({ chainCustomer: 'z', pending: false });
  });

  it('resolves a 100k-deep chain without overflowing the stack', () => {
    const nodes = Array.from({ length: 100_000 }, (_, i) =>
      n(`s${i}`, i === 0 ? null : `s${i - 1}`, i === 0 ? 'deep' : null),
    );
    expect(resolveTrace(nodes.reverse(), () => undefined).get('s99999')).toEqual({
      chainCustomer: 'deep',
      pending: false,
    });
  });
});

// ---- end to end: arrival order, request split and restarts must not change attribution ----

let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector();
});
afterAll(async () => {
  await c.close();
});

interface GenSpan {
  spanId: string;
  parent: number | null;
  customer: string | null;
  service: number;
}
const RESOURCE_CUSTOMERS = [null, 'res-a', 'res-b'] as const;

/** Independent reference: walk up parents; fall back to the span's resource customer. */
function expectedCustomer(spans: GenSpan[], i: number): string | null {
  let cur: number | null = i;
  const seen = new Set<number>();
  while (cur !== null && !seen.has(cur)) {
    seen.add(cur);
    const s = spans[cur] as GenSpan;
    if (s.customer) return s.customer;
    cur = s.parent;
  }
  return RESOURCE_CUSTOMERS[(spans[i] as GenSpan).service] ?? null;
}

function requestFor(traceId: string, spans: GenSpan[], indexes: number[]) {
  const byService = new Map<number, number[]>();
  for (const i of indexes) {
    const s = spans[i] as GenSpan;
    byService.set(s.service, [...(byService.get(s.service) ?? []), i]);
  }
  return {
    resourceSpans: [...byService].map(([service, list]) => ({
      resource: {
        attributes: [
          attr('service.name', `svc-${service}`),
          ...(RESOURCE_CUSTOMERS[service] ? [attr('customer.id', RESOURCE_CUSTOMERS[service] as string)] : []),
        ],
      },
      scopeSpans: [
        {
          spans: list.map((i) => {
            const s = spans[i] as GenSpan;
            return {
              traceId,
              spanId: s.spanId,
              ...(s.parent === null ? {} : { parentSpanId: (spans[s.parent] as GenSpan).spanId }),
              name: `op-${i}`,
              startTimeUnixNano: String(1700000000000000000n + BigInt(i)),
              endTimeUnixNano: String(1700000000000000000n + BigInt(i) + 1000n),
              attributes: [attr('_cost.amount', i + 1), ...(s.customer ? [attr('customer.id', s.customer)] : [])],
            };
          }),
        },
      ],
    })),
  };
}

async function send(body: unknown) {
  const res = await post(`${c.url}/v1/traces`, body);
  expect(res.status).toBe(200);
}

async function customersOf(traceId: string): Promise<Map<string, string | null>> {
  const res = await fetch(`${c.url}/v1/traces/${traceId}`);
  const body = (await res.json()) as { spans: unknown[] };
  const out = new Map<string, string | null>();
  const walk = (nodes: Array<{ span_id: string; customer_id: string | null; children: unknown[] }>) => {
    for (const x of nodes) {
      out.set(x.span_id, x.customer_id);
      walk(x.children as never);
    }
  };
  walk(body.spans as never);
  return out;
}

const treeArb = fc.integer({ min: 1, max: 12 }).chain((size) =>
  fc.tuple(
    fc.tuple(...Array.from({ length: size }, (_, i) => (i === 0 ? fc.constant(null) : fc.nat({ max: i - 1 })))),
    fc.array(fc.option(fc.constantFrom('acme', 'globex', 'initech'), { freq: 3 }), {
      minLength: size,
      maxLength: size,
    }),
    fc.array(fc.nat({ max: 2 }), { minLength: size, maxLength: size }),
    fc.array(fc.nat({ max: 3 }), { minLength: size, maxLength: size }),
    fc.infiniteStream(fc.nat()),
  ),
);

let traceCounter = 0;

describe('attribution end to end', () => {
  it('is the same whatever the arrival order and request split (property)', async () => {
    await fc.assert(
      fc.asyncProperty(treeArb, async ([parents, customers, services, groups, order]) => {
        const traceId = `${(++traceCounter).toString(16).padStart(8, '0')}${'7'.repeat(24)}`;
        const spans: GenSpan[] = parents.map((p, i) => ({
          spanId: (i + 1).toString(16).padStart(16, 'a'),
          parent: p,
          customer: customers[i] ?? null,
          service: services[i] ?? 0,
        }));
        // Split spans into up to 4 requests, then send the requests in a random order.
        const requests = [0, 1, 2, 3]
          .map((g) => spans.map((_, i) => i).filter((i) => groups[i] === g))
          .filter((l) => l.length > 0);
        const it = order[Symbol.iterator]();
        const shuffled = requests
          .map((r) => ({ r, k: it.next().value as number }))
          .sort((a, b) => a.k - b.k)
          .map((x) => x.r);
        for (const r of shuffled) await send(requestFor(traceId, spans, r));
        const got = await customersOf(traceId);
        const want = new Map(spans.map((s, i) => [s.spanId, expectedCustomer(spans, i)]));
        expect(got).toEqual(want);
      }),
      { numRuns: 40 },
    );
  });

  it('attributes children sent before their root once the root arrives in a later request', async () => {
    const traceId = 'c0ffee00000000000000000000000001';
    const spans: GenSpan[] = [
      { spanId: '00000000000000a1', parent: null, customer: 'late-root', service: 0 },
      { spanId: '00000000000000a2', parent: 0, customer: null, service: 1 },
      { spanId: '00000000000000a3', parent: 1, customer: null, service: 0 },
    ];
    await send(requestFor(traceId, spans, [2, 1]));
    const before = await customersOf(traceId);
    expect(before).toEqual(
      new Map([
        ['00000000000000a2', 'res-a'],
        ['00000000000000a3', null],
      ]),
    );
    await send(requestFor(traceId, spans, [0]));
    expect(await customersOf(traceId)).toEqual(
      new Map([
        ['00000000000000a1', 'late-root'],
        ['00000000000000a2', 'late-root'],
        ['00000000000000a3', 'late-root'],
      ]),
    );
  });

  it('keeps waiting children across a restart of the collector', async () => {
    const restartable = await startTestCollector();
    const traceId = 'c0ffee00000000000000000000000002';
    const spans: GenSpan[] = [
      { spanId: '00000000000000b1', parent: null, customer: 'after-restart', service: 0 },
      { spanId: '00000000000000b2', parent: 0, customer: null, service: 0 },
    ];
    expect((await post(`${restartable.url}/v1/traces`, requestFor(traceId, spans, [1]))).status).toBe(200);
    await restartable.close(false);
    const again = await startTestCollector({ dbPath: restartable.dbPath });
    try {
      expect((await post(`${again.url}/v1/traces`, requestFor(traceId, spans, [0]))).status).toBe(200);
      const res = await fetch(`${again.url}/v1/traces/${traceId}`);
      const body = (await res.json()) as {
        spans: Array<{ customer_id: string; children: Array<{ customer_id: string }> }>;
      };
      expect(body.spans[0]?.customer_id).toBe('after-restart');
      expect(body.spans[0]?.children[0]?.customer_id).toBe('after-restart');
    } finally {
      await again.close();
    }
  });
});
