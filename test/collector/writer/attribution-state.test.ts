import { describe, expect, it } from 'vitest';
import { AttributionState } from '../../../collector/writer/attribution-state.ts';
import type { SpanRecord } from '../../../src/records.ts';

const orphan = (trace: number): SpanRecord => ({
  traceId: trace.toString(16).padStart(32, '0'),
  spanId: '00000000000000a2',
  parentSpanId: '00000000000000a1',
  name: 'child',
  kind: 1,
  serviceName: null,
  scopeName: '',
  startTimeUnixNano: 1n,
  endTimeUnixNano: 2n,
  statusCode: 0,
  customerOwn: null,
  resourceCustomer: null,
  costPicocents: null,
  costSource: null,
  revenuePicocents: null,
  attributesJson: '{}',
  llmVendor: null,
  llmModel: null,
  llmCall: null,
  priceVersion: null,
});

describe('attribution memory bounds', () => {
  it('keeps at most the configured number of pending spans, dropping the oldest traces first', async () => {
    const state = new AttributionState(1000, 100);
    for (let i = 1; i <= 1000; i++) state.apply(await state.plan([orphan(i)], async () => []));
    expect(state.pendingSpans).toBeLessThanOrEqual(100);
    expect(state.pendingSpans).toBeGreaterThanOrEqual(90);
    // the newest trace is still waiting: its root arriving now resolves the child
    const newest = orphan(1000);
    const root: SpanRecord = { ...newest, spanId: '00000000000000a1', parentSpanId: null, customerOwn: 'late' };
    const plan = await state.plan([root], async () => []);
    expect(plan.updates).toEqual([expect.objectContaining({ spanId: '00000000000000a2', customerId: 'late' })]);
  });
});
