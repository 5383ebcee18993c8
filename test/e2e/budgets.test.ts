/**
 * Budgets and their alerts (docs/contract.md §11) against a running collector and a local receiver that verifies every
 * alert with the `standardwebhooks` library: many parallel requests crossing at once → exactly one alert per
 * threshold; a new window alerts again; the `*` default; a failing receiver gets retries until it answers 2xx (the
 * same webhook-id each time); a SIGKILL between the crossing's commit and its delivery loses nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCollector } from '../helpers/child-collector.ts';
import { startTestCollector, type TestCollector } from '../helpers/collector.ts';
import { post, putJson, until } from '../helpers/http.ts';
import { jsonRequest } from '../helpers/otlp.ts';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;

interface Delivery {
  id: string;
  type: string;
  data: { customer_id: string; threshold: number; spent_cents: number; amount_cents: number; window_start: string };
}

/** Verifies each POST with the library; answers `failFirst` requests 500 first. */
async function startReceiver(failFirst = 0) {
  const deliveries: Delivery[] = [];
  const attemptIds: string[] = [];
  let attempts = 0;
  let failures = failFirst;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    attempts++;
    attemptIds.push(String(req.headers['webhook-id']));
    if (failures > 0) {
      failures--;
      res.writeHead(500).end();
      return;
    }
    const payload = new Webhook(SECRET).verify(body, req.headers as Record<string, string>) as Omit<Delivery, 'id'>;
    deliveries.push({ id: String(req.headers['webhook-id']), ...payload });
    res.writeHead(204).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/alerts`,
    deliveries,
    attemptIds,
    attempts: () => attempts,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let n = 0;
function costSpan(customer: string, cents: string, atMs: number) {
  n++;
  return jsonRequest([
    {
      traceId: n.toString(16).padStart(32, '0'),
      spanId: n.toString(16).padStart(16, '0'),
      name: 'chat',
      startTimeUnixNano: String(BigInt(atMs) * 1_000_000n),
      endTimeUnixNano: String(BigInt(atMs + 1) * 1_000_000n),
      attributes: { 'customer.id': customer, '_cost.amount': cents },
    },
  ]);
}

const putBudget = (url: string, id: string, body: unknown) =>
  putJson(`${url}/v1/budgets/${encodeURIComponent(id)}`, body);

describe('budgets and alerts', () => {
  let c: TestCollector;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    receiver = await startReceiver();
    c = await startTestCollector({ alerts: { url: receiver.url, secret: SECRET } });
  });
  afterAll(async () => {
    await c?.close();
    await receiver?.close();
  });

  it('sets budgets (the * default too) and refuses bad ones with locations', async () => {
    expect(await putBudget(c.url, '*', { amount_cents: 100, window: 'day', thresholds: [1, 0.5] })).toMatchObject({
      status: 200,
      body: { customer_id: '*', amount_cents: 100, window: 'day', thresholds: [0.5, 1] },
    });
    expect(
      (await putBudget(c.url, 'acme', { amount_cents: '1000', window: 'month', thresholds: [0.5, 0.8, 1] })).status,
    ).toBe(200);
    const bad = await putBudget(c.url, 'x', { amount_cents: -5, window: 'day', thresholds: [0, 0.5, 0.5] });
    expect(bad.status).toBe(422);
    expect((bad.body.detail as Array<{ loc: unknown[] }>).map((d) => d.loc)).toEqual([
      ['body', 'amount_cents'],
      ['body', 'thresholds', 0],
      ['body', 'thresholds', 2],
    ]);
    const list = (await (await fetch(`${c.url}/v1/budgets`)).json()) as { items: Array<{ customer_id: string }> };
    expect(list.items.map((b) => b.customer_id)).toEqual(['*', 'acme']);
  });

  it('alerts exactly once per threshold when many parallel requests cross it at once', async () => {
    // Noon (UTC) of today: every span in one day window, whenever the test runs (no flake near midnight).
    const now = Math.floor(Date.now() / 86_400_000) * 86_400_000 + 43_200_000;
    // 40 requests of 5 cents for globex (default budget: 100 a day): crosses 50 and 100 once each.
    const results = await Promise.all(
      Array.from({ length: 40 }, () => post(`${c.url}/v1/traces`, costSpan('globex', '5', now)).then((r) => r.status)),
    );
    expect(results.every((s) => s === 200)).toBe(true);
    // Every crossing is in the outbox once its request is answered: when its rows are all delivered, nothing more
    // can come (no sleeping on the clock).
    await until('both crossings delivered', async () => {
      const rows = await c.collector.db.read(async (conn) =>
        (
          await conn.runAndReadAll(
            `SELECT count(*), count(*) FILTER (WHERE delivered_at IS NULL) FROM budget_alerts WHERE customer_id = 'globex'`,
          )
        ).getRows(),
      );
      return rows.map((r) => r.map(Number)).join() === '2,0';
    });
    const globex = receiver.deliveries.filter((d) => d.data.customer_id === 'globex');
    expect(globex.map((d) => [d.type, d.data.threshold, d.data.amount_cents]).sort()).toEqual([
      ['budget.threshold_crossed', 0.5, 100],
      ['budget.threshold_crossed', 1, 100],
    ]);
    expect(new Set(globex.map((d) => d.id)).size).toBe(2);
    const day = new Date(now).toISOString().slice(0, 10);
    expect(globex.every((d) => d.data.window_start === `${day}T00:00:00Z`)).toBe(true);
    const status = (await (await fetch(`${c.url}/v1/budgets/globex/status`)).json()) as Record<string, unknown>;
    expect(status).toMatchObject({ budget: '*', spent_cents: 200, amount_cents: 100, crossed: [0.5, 1] });
  });

  it('alerts again in a new window, and against the customer’s own budget', async () => {
    const yesterday = Date.now() - 86_400_000;
    await post(`${c.url}/v1/traces`, costSpan('globex', '60', yesterday));
    await post(`${c.url}/v1/traces`, costSpan('acme', '600', Date.now()));
    await until('the alerts', () => receiver.deliveries.length >= 4);
    const day = new Date(yesterday).toISOString().slice(0, 10);
    expect(
      receiver.deliveries.filter((d) => d.data.customer_id === 'globex' && d.data.window_start === `${day}T00:00:00Z`),
    ).toHaveLength(1);
    const acme = receiver.deliveries.filter((d) => d.data.customer_id === 'acme');
    expect(acme.map((d) => [d.data.threshold, d.data.amount_cents, d.data.spent_cents])).toEqual([[0.5, 1000, 600]]);
    const month = new Date().toISOString().slice(0, 7);
    expect(acme[0]?.data.window_start).toBe(`${month}-01T00:00:00Z`);
  });
});

describe('alert delivery', () => {
  it('retries a failing receiver until it answers 2xx, with the same webhook-id', async () => {
    const receiver = await startReceiver(2);
    const c = await startTestCollector({ alerts: { url: receiver.url, secret: SECRET } });
    try {
      await putBudget(c.url, 'initech', { amount_cents: 10, window: 'week', thresholds: [1] });
      await post(`${c.url}/v1/traces`, costSpan('initech', '12', Date.now()));
      // Backoff 1 s then 2 s after the two failures.
      await until('the delivery', () => receiver.deliveries.length === 1, 20_000);
      expect(receiver.attempts()).toBe(3);
      expect(new Set(receiver.attemptIds)).toEqual(new Set([receiver.deliveries[0]?.id]));
      // The receiver answered before the collector recorded the delivery: wait for that record.
      const metrics = () => fetch(`${c.url}/metrics`).then((r) => r.text());
      await until('the delivery to be recorded', async () =>
        /costtrace_budget_alerts_total\{outcome="delivered"\} 1/.test(await metrics()),
      );
      expect(await metrics()).toMatch(/costtrace_budget_alerts_total\{outcome="failed"\} 2/);
    } finally {
      await c.close();
      await receiver.close();
    }
  });

  it('delivers a crossing committed just before a SIGKILL, once, after the restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'costtrace-alerts-'));
    // Nobody listens yet: the crossing is committed, its delivery cannot happen.
    const receiver = await startReceiver();
    const closed = 'http://127.0.0.1:9/alerts';
    const db = join(dir, 'a.duckdb');
    try {
      const first = await spawnCollector(['--port', '0', '--db', db], {
        COSTTRACE_ALERT_WEBHOOK_URL: closed,
        COSTTRACE_ALERT_WEBHOOK_SECRET: SECRET,
      });
      expect((await putBudget(first.url, '*', { amount_cents: 5, window: 'day', thresholds: [1] })).status).toBe(200);
      const res = await post(`${first.url}/v1/traces`, costSpan('umbrella', '7', Date.now()));
      expect(res.status).toBe(200);
      first.child.kill('SIGKILL');
      await first.exited;
      const second = await spawnCollector(['--port', '0', '--db', db], {
        COSTTRACE_ALERT_WEBHOOK_URL: receiver.url,
        COSTTRACE_ALERT_WEBHOOK_SECRET: SECRET,
      });
      try {
        // The first attempt (to the closed port) failed before the kill or never ran: retried within its backoff.
        await until('the alert after the restart', () => receiver.deliveries.length === 1, 20_000);
        // The sender counts a delivery only after recording it: once counted, the row is never sent again.
        await until('the delivery recorded', async () => {
          const text = await (await fetch(`${second.url}/metrics`)).text();
          return /costtrace_budget_alerts_total\{outcome="delivered"\} 1\b/.test(text);
        });
        expect(receiver.deliveries).toHaveLength(1);
        expect(receiver.deliveries[0]?.data).toMatchObject({ customer_id: 'umbrella', threshold: 1, spent_cents: 7 });
      } finally {
        second.child.kill('SIGTERM');
        await second.exited;
      }
    } finally {
      await receiver.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
