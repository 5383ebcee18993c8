/**
 * A 2xx means durable: the collector process is killed with SIGKILL while batches stream in; after a
 * restart on the same file every acknowledged span is present exactly once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnCollector } from '../helpers/child-collector.ts';
import { jsonRequest, type SpanSpec } from '../helpers/otlp.ts';

const SPANS_PER_BATCH = 50;
let dir = '';
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const traceIdFor = (n: number) => `${n.toString(16).padStart(8, '0')}${'d'.repeat(24)}`;
function batch(n: number) {
  const traceId = traceIdFor(n);
  const spans: SpanSpec[] = Array.from({ length: SPANS_PER_BATCH }, (_, i) => ({
    traceId,
    spanId: (i + 1).toString(16).padStart(16, '0'),
    ...(i === 0 ? {} : { parentSpanId: '0000000000000001' }),
    attributes: i === 0 ? { 'customer.id': `c${n % 7}` } : { '_cost.amount': '0.000000000001' },
  }));
  return JSON.stringify(jsonRequest(spans));
}

describe('durability', () => {
  it('keeps every acknowledged span, exactly once, across kill -9', async () => {
    dir = await mkdtemp(join(tmpdir(), 'costtrace-durability-'));
    const db = join(dir, 'd.duckdb');
    const first = await spawnCollector(['--port', '0', '--db', db]);
    const acked: number[] = [];
    let next = 0;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const n = next++;
        try {
          const res = await fetch(`${first.url}/v1/traces`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: batch(n),
          });
          if (res.status === 200) acked.push(n);
        } catch {
          // connection cut by the kill: not acknowledged, so not expected to be stored
        }
      }
    };
    const workers = [worker(), worker(), worker(), worker()];
    while (acked.length < 60) await new Promise((r) => setTimeout(r, 20));
    first.child.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    await first.exited;
    expect(acked.length).toBeGreaterThanOrEqual(60);

    const second = await spawnCollector(['--port', '0', '--db', db]);
    try {
      // An exporter retries what was not acknowledged; re-sent spans must not be stored twice.
      for (const n of acked.slice(0, 5)) {
        await fetch(`${second.url}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: batch(n),
        });
      }
      for (const n of acked) {
        const res = await fetch(`${second.url}/v1/traces/${traceIdFor(n)}`);
        expect(res.status).toBe(200);
        const body = (await res.json()) as { span_count: number; total_cost_exact: string; customer_id: string };
        expect(body).toMatchObject({
          span_count: SPANS_PER_BATCH,
          total_cost_exact: `0.0000000000${SPANS_PER_BATCH - 1}`,
          customer_id: `c${n % 7}`,
        });
      }
    } finally {
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
  });
});
