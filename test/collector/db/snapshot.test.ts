/**
 * `POST /v1/admin/snapshot`: a consistent copy while ingest goes on — it holds only whole requests (every
 * trace of 10 spans sent in one request has all 10 or is absent) — that a collector opens; admin scope only;
 * an existing path or a missing folder is a 4xx with nothing written.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../collector/db/database.ts';
import { startTestCollector, type TestCollector } from '../../helpers/collector.ts';
import { jsonRequest } from '../../helpers/otlp.ts';

const dir = mkdtempSync(join(tmpdir(), 'costtrace-snapshot-'));
let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector({ ingestTokens: ['in'], readTokens: ['rd'], adminTokens: ['ad'] });
});
afterAll(async () => {
  await c.close();
  rmSync(dir, { recursive: true, force: true });
});

const snapshot = (path: string, token = 'ad') =>
  fetch(`${c.url}/v1/admin/snapshot`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ path }),
  });

describe('snapshots', () => {
  it('copies only whole requests while ingest goes on, and the copy opens', async () => {
    let running = true;
    let sent = 0;
    const ingest = (async () => {
      for (let n = 1; running; n++) {
        const traceId = `${n.toString(16).padStart(8, '0')}${'5'.repeat(24)}`;
        const spans = Array.from({ length: 10 }, (_, i) => ({
          traceId,
          spanId: (i + 1).toString(16).padStart(16, '0'),
          attributes: { '_cost.amount': 1, 'customer.id': 'snap' },
        }));
        const res = await fetch(`${c.url}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer in' },
          body: JSON.stringify(jsonRequest(spans)),
        });
        expect(res.status).toBe(200);
        sent = n;
      }
    })();
    while (sent < 5) await new Promise((r) => setTimeout(r, 10));
    const path = join(dir, 'copy.duckdb');
    const res = await snapshot(path);
    const body = (await res.json()) as { path: string; bytes: number };
    running = false;
    await ingest;
    expect(res.status).toBe(200);
    expect(body.path).toBe(path);
    expect(body.bytes).toBeGreaterThan(0);
    expect(readdirSync(dir).filter((f) => f.includes('partial'))).toEqual([]);
    const copy = await openDatabase(path, '256MB');
    try {
      const perTrace = await copy.read(async (conn) =>
        (await conn.runAndReadAll(`SELECT count(*) FROM records WHERE source = 'span' GROUP BY trace_id`)).getRows(),
      );
      expect(perTrace.length).toBeGreaterThanOrEqual(5);
      expect(perTrace.every(([n]) => n === 10n)).toBe(true);
      const rollup = await copy.read(async (conn) =>
        (
          await conn.runAndReadAll(
            `SELECT (SELECT sum(cost_amount) FROM records) = (SELECT sum(costs) FROM rollup_15m)`,
          )
        ).getRows(),
      );
      expect(rollup).toEqual([[true]]);
    } finally {
      await copy.close();
    }
  });

  it('is an admin operation: 401 without a token, 403 with a read or ingest token', async () => {
    expect((await snapshot(join(dir, 'a.duckdb'), 'nope')).status).toBe(401);
    expect((await snapshot(join(dir, 'b.duckdb'), 'rd')).status).toBe(403);
    expect((await snapshot(join(dir, 'c.duckdb'), 'in')).status).toBe(403);
    expect(existsSync(join(dir, 'a.duckdb')) || existsSync(join(dir, 'b.duckdb'))).toBe(false);
  });

  it('refuses an existing file (409) and a missing folder (422), writing nothing', async () => {
    const existing = join(dir, 'taken.duckdb');
    writeFileSync(existing, 'mine');
    const taken = await snapshot(existing);
    expect(taken.status).toBe(409);
    expect(((await taken.json()) as { message: string }).message).toContain('already exists');
    const missing = await snapshot(join(dir, 'no', 'such', 'folder', 'x.duckdb'));
    expect(missing.status).toBe(422);
    expect(existsSync(join(dir, 'no'))).toBe(false);
  });
});
