/**
 * Cost traces on ClickHouse answer what the DuckDB store answers for the same spans: traces of 1–6 spans over several
 * days, children naming other customers, spans without cost, unpriced LLM calls, a trace whose root never came
 * (its spans pending). Every trace's spans, and the trace list for every sort, customer, window (day-aligned and
 * not) and page, are equal.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { listClickHouseTraces, readClickHouseTraceSpans } from '../../../collector/clickhouse/trace-reads.ts';
import { TRACE_SORTS, type TraceSort } from '../../../collector/core/trace-shapes.ts';
import { listTraces, readTraceSpans } from '../../../collector/reads/span-reads.ts';
import { bothStores, storeInBoth } from '../../helpers/clickhouse.ts';
import type { SpanSpec } from '../../helpers/otlp.ts';

const p = { database: 'ct_traces' };
const both = bothStores('chtraces', p);
const T0_MS = Date.UTC(2025, 3, 1);
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const traceIds: string[] = [];

function traces(): SpanSpec[] {
  const out: SpanSpec[] = [];
  for (let t = 0; t < 60; t++) {
    const traceId = hex(t + 1, 32);
    traceIds.push(traceId);
    const startMs = T0_MS + t * 5 * 3_600_000 + (t % 7) * 61_000; // ~5 h apart: traces over 12 days
    const spans = 1 + (t % 6);
    for (let i = 0; i < spans; i++) {
      if (t === 13 && i === 0) continue; // trace 13's root never comes
      const ns = (BigInt(startMs) + BigInt(i) * 1500n) * 1_000_000n + BigInt(t);
      const attributes: Record<string, string | number> = {};
      if (i === 0 && t % 4 !== 3) attributes['customer.id'] = ['acme', 'globex', 'initech'][t % 3] as string;
      if (i === 2) attributes['customer.id'] = 'umbrella'; // a child billed to another customer
      if (i > 0 && (t + i) % 3 === 0) attributes['_cost.amount'] = `${t}.${String(i).padStart(12, '0')}`;
      if (i > 0 && (t + i) % 5 === 1) {
        attributes['gen_ai.system'] = 'openai';
        attributes['gen_ai.request.model'] = 'no-such-model'; // unpriced
        attributes['gen_ai.usage.input_tokens'] = 100;
      }
      out.push({
        traceId,
        spanId: hex(i + 1, 16),
        // Trace 13's children wait for a parent that never comes: pending.
        ...(i === 0 ? {} : { parentSpanId: hex(t === 13 ? 99 : i, 16) }),
        name: i === 0 ? `GET /r${t % 4}` : `call ${i}`,
        startTimeUnixNano: String(ns),
        endTimeUnixNano: String(ns + 1000n),
        attributes,
      });
    }
  }
  // A pending span an hour into a day where a window starts two hours in: counted by its start, not its day.
  const ns = (BigInt(T0_MS) + 2n * 86_400_000n + 3_600_000n) * 1_000_000n;
  traceIds.push(hex(500, 32));
  out.push({
    traceId: hex(500, 32),
    spanId: hex(2, 16),
    parentSpanId: hex(1, 16),
    name: 'late child',
    startTimeUnixNano: String(ns),
    endTimeUnixNano: String(ns + 1000n),
    attributes: { '_cost.amount': '4.5' }, // no customer of its own: it waits for its parent
  });
  return out;
}

beforeAll(async () => {
  await storeInBoth(both.duck, both.client, p, traces(), { 'service.name': 'api' }, 1_767_225_600_000_000n);
});

describe('cost traces on ClickHouse equal DuckDB', () => {
  it("reads every trace's spans as the DuckDB store does", async () => {
    for (const id of [...traceIds, hex(999, 32)]) {
      const want = await both.duck.collector.db.read((c) => readTraceSpans(c, id));
      expect({ id, got: await readClickHouseTraceSpans(both.client, p, id) }).toEqual({ id, got: want });
    }
    const pending = await readClickHouseTraceSpans(both.client, p, hex(14, 32));
    expect(pending.length).toBeGreaterThan(0);
    expect(pending.every((s) => s.pending)).toBe(true);
  });

  it('lists traces for every sort, customer, window and page as the DuckDB store does', async () => {
    const day = 86_400_000_000n;
    const t0 = BigInt(T0_MS) * 1000n;
    const windows = [
      {},
      { fromMicros: t0 + 2n * day, toMicros: t0 + 6n * day },
      { fromMicros: t0 + 2n * day + 7_200_000_000n, toMicros: t0 + 6n * day - 1n }, // not on day boundaries
      { fromMicros: t0 + 30n * day },
    ];
    let compared = 0;
    for (const w of windows) {
      for (const customerId of [undefined, 'acme', 'umbrella', 'nobody']) {
        for (const sort of Object.keys(TRACE_SORTS) as TraceSort[]) {
          for (const page of [
            { limit: 100, offset: 0 },
            { limit: 3, offset: 2 },
          ]) {
            const q = { ...w, ...(customerId === undefined ? {} : { customerId }), sort, ...page };
            const want = await both.duck.collector.db.read((c) => listTraces(c, q));
            expect({ q, got: await listClickHouseTraces(both.client, p, q) }).toEqual({ q, got: want });
            compared++;
          }
        }
      }
    }
    expect(compared).toBe(128);
  }, 120_000);
});
