/**
 * Re-pricing records its progress (reprice_runs, migration 14), committed with each chunk: `GET /v1/prices` shows
 * the latest run as finished, with the tallies it answered; a run stopped by `kill -9` after some chunks is shown
 * as interrupted, with how far it got — exactly the spans already re-priced — and re-pricing the same window again
 * completes it, changing only the rest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnCollector } from '../helpers/child-collector.ts';
import { getJson, postJson, putJson, until } from '../helpers/http.ts';
import { jsonRequest, type SpanSpec, spanIdOf, traceIdOf } from '../helpers/otlp.ts';

const dir = mkdtempSync(join(tmpdir(), 'costtrace-reprice-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DAY = '2026-11-02';
const SLOT_NS = 15n * 60n * 1_000_000_000n;
const DAY_START_NS = BigInt(Date.UTC(2026, 10, 2)) * 1_000_000n;
/**
 * 3 chunks of re-pricing: chunks join whole slots up to about 10,000 records (features/prices/reprice.ts), so slots of 6,000
 * spans are a chunk each.
 */
const SLOTS = 3;
const PER_SLOT = 6_000;

interface LastReprice {
  state: string;
  done_through: string | null;
  records: number;
  changed: number;
  finished_at: string | null;
}

const last = async (url: string) =>
  (await getJson<{ last_reprice: LastReprice | null }>(`${url}/v1/prices`)).body.last_reprice;

/** Spans of a model no price knows: stored unpriced, then priced by the book once it names the model. */
async function ingest(url: string) {
  for (let slot = 0; slot < SLOTS; slot++) {
    const spans: SpanSpec[] = Array.from({ length: PER_SLOT }, (_, i) => ({
      traceId: traceIdOf(slot * PER_SLOT + i),
      spanId: spanIdOf(1),
      startTimeUnixNano: String(DAY_START_NS + BigInt(slot) * SLOT_NS + BigInt(i) * 1000n),
      attributes: {
        'gen_ai.request.model': 'house-model',
        'gen_ai.usage.input_tokens': 1000,
        'gen_ai.usage.output_tokens': 0,
      },
    }));
    expect((await postJson(`${url}/v1/traces`, jsonRequest(spans))).status).toBe(200);
  }
}

const BOOK = { models: [{ model: 'house-model', input_usd_per_mtok: '1', output_usd_per_mtok: '1' }] };

describe('re-pricing progress', () => {
  it('shows a finished run with the tallies it answered', { timeout: 120_000 }, async () => {
    const server = await spawnCollector(['--port', '0', '--db', join(dir, 'finished.duckdb')]);
    try {
      expect(await last(server.url)).toBeNull();
      await ingest(server.url);
      expect((await putJson(`${server.url}/v1/prices`, BOOK)).status).toBe(200);
      const done = await postJson(`${server.url}/v1/prices/reprice`, { start_date: DAY, end_date: DAY });
      expect(done.body).toMatchObject({ records: SLOTS * PER_SLOT, changed: SLOTS * PER_SLOT });
      expect(await last(server.url)).toMatchObject({
        state: 'finished',
        start_date: DAY,
        end_date: DAY,
        price_version: 1,
        records: SLOTS * PER_SLOT,
        changed: SLOTS * PER_SLOT,
        delta_cents_exact: done.body.delta_cents_exact,
        done_through: `${new Date(Number((DAY_START_NS + BigInt(SLOTS) * SLOT_NS) / 1_000_000n)).toISOString().slice(0, 19)}.000000000Z`,
      });
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  it('shows a run killed after some chunks as interrupted, exactly as far as it got; running it again completes it', {
    timeout: 120_000,
  }, async () => {
    const db = join(dir, 'killed.duckdb');
    const first = await spawnCollector(['--port', '0', '--db', db]);
    await ingest(first.url);
    expect((await putJson(`${first.url}/v1/prices`, BOOK)).status).toBe(200);
    void postJson(`${first.url}/v1/prices/reprice`, { start_date: DAY, end_date: DAY }).catch(() => undefined);
    let seen: LastReprice | null = null;
    try {
      await until(
        'a chunk committed while the run was going',
        async () => {
          const now = await last(first.url).catch(() => null);
          if (now?.state === 'running' && now.done_through !== null) seen = now;
          return seen !== null;
        },
        30_000,
        5,
      );
    } finally {
      // Killed mid-run whether or not the wait succeeded: the child never outlives the test.
      first.child.kill('SIGKILL');
      await first.exited;
    }
    expect(seen, 'a chunk committed while the run was going').not.toBeNull();

    const second = await spawnCollector(['--port', '0', '--db', db]);
    try {
      const interrupted = await last(second.url);
      expect(interrupted).toMatchObject({ state: 'interrupted', finished_at: null });
      const doneChunks = interrupted?.changed ?? 0;
      expect(doneChunks % PER_SLOT).toBe(0);
      expect(doneChunks).toBeGreaterThan(0);
      expect(doneChunks).toBeLessThanOrEqual(SLOTS * PER_SLOT);
      // What it says is done is done: re-pricing again changes exactly the rest.
      const again = await postJson(`${second.url}/v1/prices/reprice`, { start_date: DAY, end_date: DAY });
      expect(again.body).toMatchObject({ records: SLOTS * PER_SLOT, changed: SLOTS * PER_SLOT - doneChunks });
      expect(await last(second.url)).toMatchObject({ state: 'finished', changed: SLOTS * PER_SLOT - doneChunks });
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
