/**
 * Bounded outbound calls and the per-budget webhook address policy (docs/contract.md §12 v3), against real loopback
 * servers — one that hangs (accepts, never answers), one that trickles a byte a second, one that answers a huge
 * body, one that redirects, a closed port, and a healthy one — with the garbage collector forced every 200 ms the
 * whole time (the timers of the old senders, AbortSignal.timeout under AbortSignal.any, were lost once it ran).
 * Time bounds here are upper bounds the behaviour needs (a hanging receiver is abandoned; the healthy receiver
 * gets its alert while the hanging ones still hang), never tight wall-clock numbers.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostResolver } from '../../collector/features/budgets/webhook-address.ts';
import { startTestCollector, type TestCollector } from '../helpers/collector.ts';
import { bearer, getJson, post, putJson, until } from '../helpers/http.ts';
import { jsonRequest } from '../helpers/otlp.ts';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const HUGE_BYTES = 256 * 1024 * 1024;

let stopGc: () => void = () => {};
beforeAll(() => {
  setFlagsFromString('--expose_gc');
  const gc = runInNewContext('gc') as () => void;
  const timer = setInterval(() => {
    // Garbage to collect, then a full collection: whatever only a weak reference keeps alive is gone.
    const junk = Array.from({ length: 50_000 }, (_, i) => ({ i }));
    if (junk.length > 0) gc();
  }, 200);
  stopGc = () => clearInterval(timer);
});
afterAll(() => stopGc());

interface Receiver {
  readonly url: string;
  readonly requests: () => number;
  readonly opened: () => number;
  readonly closed: () => number;
  readonly close: () => Promise<void>;
}

/** A loopback HTTP server counting requests and connections; `handle` answers (or not). */
async function receiver(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<Receiver> {
  let requests = 0;
  let opened = 0;
  let closed = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    handle(req, res);
  });
  server.on('connection', (socket: Socket) => {
    opened++;
    socket.on('close', () => closed++);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    requests: () => requests,
    opened: () => opened,
    closed: () => closed,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const hanging = () => receiver((req) => req.resume());
const trickling = () =>
  receiver((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    const timer = setInterval(() => res.write('x'), 1_000);
    res.on('close', () => clearInterval(timer));
  });
/** Writes HUGE_BYTES as fast as the client reads, until it hangs up; `written` is told what left so far. */
async function streamHuge(res: ServerResponse, written: (bytes: number) => void): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, 'a');
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  let bytes = 0;
  while (!closed && bytes < HUGE_BYTES) {
    bytes += chunk.length;
    written(bytes);
    if (!res.write(chunk)) await new Promise((r) => res.once('drain', r).once('close', r));
  }
  res.end();
}

/** Answers `status` with HUGE_BYTES of body; `written` counts what left the server. */
function huge(status: number) {
  let written = 0;
  return {
    written: () => written,
    start: () =>
      receiver((req, res) => {
        req.resume();
        res.writeHead(status, { 'content-type': 'application/json' });
        void streamHuge(res, (bytes) => {
          written = bytes;
        });
      }),
  };
}
const redirecting = (to: string) =>
  receiver((req, res) => {
    req.resume();
    res.writeHead(307, { location: to }).end();
  });

/** A healthy receiver: verifies each alert's signature, answers 204. */
async function healthy() {
  const customers: string[] = [];
  const r = await receiver(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const payload = new Webhook(SECRET).verify(Buffer.concat(chunks).toString('utf8'), req.headers as never) as {
      data: { customer_id: string };
    };
    customers.push(payload.data.customer_id);
    res.writeHead(204).end();
  });
  return { ...r, customers };
}

async function closedPortUrl(): Promise<string> {
  const r = await receiver(() => {});
  await r.close();
  return r.url;
}

let n = 0;
function costSpans(customers: readonly string[], cents: string) {
  return jsonRequest(
    customers.map((customer) => {
      n++;
      return {
        traceId: n.toString(16).padStart(32, '0'),
        spanId: n.toString(16).padStart(16, '0'),
        name: 'chat',
        startTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n),
        endTimeUnixNano: String(BigInt(Date.now() + 1) * 1_000_000n),
        attributes: { 'customer.id': customer, '_cost.amount': cents },
      };
    }),
  );
}

async function lastErrors(c: TestCollector): Promise<Record<string, string | null>> {
  const rows = await c.collector.db.read(async (conn) =>
    (await conn.runAndReadAll('SELECT customer_id, last_error FROM budget_alerts ORDER BY customer_id')).getRows(),
  );
  return Object.fromEntries(rows.map((r) => [String(r[0]), r[1] === null ? null : String(r[1])]));
}

const alertOutcomes = async (c: TestCollector) =>
  [...(await (await fetch(`${c.url}/metrics`)).text()).matchAll(/costtrace_budget_alerts_total\{outcome="(\w+)"\}/g)]
    .map((m) => m[1])
    .sort();

describe('budget alerts: bounded and independent per receiver', () => {
  const servers: Receiver[] = [];
  let c: TestCollector;
  afterAll(async () => {
    await c?.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  it('delivers to a healthy receiver while three others hang, and abandons every stalled exchange', async () => {
    const hangs = [await hanging(), await hanging(), await hanging()];
    const trickle = await trickling();
    const big = huge(200);
    const bigServer = await big.start();
    const target = await healthy();
    const redirect = await redirecting(target.url);
    const good = await healthy();
    servers.push(...hangs, trickle, bigServer, target, redirect, good);
    const refused = await closedPortUrl();
    c = await startTestCollector({ alerts: { secret: SECRET, allowPrivateWebhooks: true } });
    // Crossed in one request: the old sender went one at a time in customer order, the healthy one last.
    const budgets: Array<[string, string]> = [
      ['a-hang-1', hangs[0]?.url as string],
      ['a-hang-2', hangs[1]?.url as string],
      ['a-hang-3', hangs[2]?.url as string],
      ['b-trickle', trickle.url],
      ['c-huge', bigServer.url],
      ['d-redirect', redirect.url],
      ['e-refused', refused],
      ['z-healthy', good.url],
    ];
    for (const [customer, url] of budgets) {
      const put = await putJson(`${c.url}/v1/budgets/${customer}`, {
        amount_cents: 10,
        window: 'day',
        thresholds: [1],
        webhook_url: url,
      });
      expect(put.status).toBe(200);
    }
    const res = await post(
      `${c.url}/v1/traces`,
      costSpans(
        budgets.map(([customer]) => customer),
        '12',
      ),
    );
    expect(res.status).toBe(200);

    await until('the healthy receiver’s alert', () => good.customers.length === 1, 30_000);
    expect(good.customers).toEqual(['z-healthy']);
    // Independence: the hanging receivers were not abandoned first — they still hold their first connection.
    for (const h of hangs) {
      expect(h.requests()).toBeGreaterThanOrEqual(1);
      expect(h.closed()).toBe(0);
    }

    // Every stalled exchange is abandoned (limit 10 s; the old sender held a hanging one 70 s and more).
    await until(
      'the hanging and trickling exchanges to be abandoned',
      () => hangs.every((h) => h.closed() >= 1) && trickle.closed() >= 1,
      30_000,
    );
    // The huge answer: a 2xx, read no further than 64 KB (what left the server is what the socket buffers took).
    await until('the huge answer’s connection to close', () => bigServer.closed() >= 1, 30_000);
    expect(big.written()).toBeLessThan(32 * 1024 * 1024);
    // The redirect is not followed: its target never hears of the alert.
    expect(redirect.requests()).toBeGreaterThanOrEqual(1);
    expect(target.requests()).toBe(0);

    await until(
      'every outcome to be recorded',
      async () => {
        const errors = await lastErrors(c);
        return ['a-hang-1', 'a-hang-2', 'a-hang-3', 'b-trickle', 'd-redirect', 'e-refused'].every((k) => errors[k]);
      },
      30_000,
    );
    const errors = await lastErrors(c);
    expect(errors['c-huge']).toBeNull();
    expect(errors['z-healthy']).toBeNull();
    expect(errors['a-hang-1']).toMatch(/no complete answer within 10000 ms/);
    expect(errors['b-trickle']).toMatch(/no complete answer within 10000 ms/);
    expect(errors['d-redirect']).toMatch(/answered 307 \(a redirect; redirects are not followed\)/);
    expect(errors['e-refused']).toMatch(/ECONNREFUSED/);
    // The counter tells a refused port, a timeout and a redirect apart no more than a failure: one outcome.
    expect(new Set(await alertOutcomes(c))).toEqual(new Set(['delivered', 'failed']));
  });
});

describe('a per-budget webhook_url: the address policy and who sees it', () => {
  // Read routes refuse a token of another scope: an operator who reads as admin lists one token in both.
  const TOKENS = { ingest: 'ingest-tok', read: 'read-tok', admin: 'ops-tok' };
  const zone = new Map<string, string>([['private.example.com', '10.1.2.3']]);
  const resolveHost: HostResolver = async (host) => {
    const address = zone.get(host);
    if (address === undefined) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return [{ address, family: address.includes(':') ? 6 : 4 }];
  };
  let strict: TestCollector;
  let lax: TestCollector;
  beforeAll(async () => {
    const tokens = {
      ingestTokens: [TOKENS.ingest],
      readTokens: [TOKENS.read, TOKENS.admin],
      adminTokens: [TOKENS.admin],
    };
    strict = await startTestCollector({ ...tokens, resolveHost });
    lax = await startTestCollector({ ...tokens, resolveHost, alerts: { allowPrivateWebhooks: true } });
  });
  afterAll(async () => {
    await strict?.close();
    await lax?.close();
  });

  const put = (c: TestCollector, url: string) =>
    putJson(`${c.url}/v1/budgets/acme`, { amount_cents: 100, window: 'day', webhook_url: url }, bearer(TOKENS.admin));

  // [url, refused by the strict collector, refused with COSTTRACE_ALLOW_PRIVATE_WEBHOOKS=true]
  it.each([
    ['http://169.254.169.254/latest/meta-data/', true, true],
    ['http://[fd00:ec2::254]/', true, true],
    ['http://metadata.google.internal/computeMetadata/v1/', true, true],
    ['http://[::ffff:169.254.169.254]/', true, true],
    ['http://169.254.7.7/', true, true],
    ['http://127.0.0.1:8080/', true, false],
    ['http://127.1/', true, false],
    ['http://2130706433/', true, false],
    ['http://localhost:9/', true, false],
    ['http://[::1]/', true, false],
    ['http://[::ffff:127.0.0.1]/', true, false],
    ['http://10.0.0.1/', true, false],
    ['https://private.example.com/hook', true, false],
    ['ftp://hooks.example.com/', true, true],
    ['https://hooks.example.com/hook', false, false],
  ])('%s: 422 %s, with private allowed 422 %s', async (url, strictRefuses, laxRefuses) => {
    for (const [c, refuses] of [
      [strict, strictRefuses],
      [lax, laxRefuses],
    ] as const) {
      const res = await put(c, url);
      if (!refuses) {
        expect(res).toMatchObject({ status: 200, body: { webhook_url: url } });
        continue;
      }
      expect(res.status).toBe(422);
      expect(res.body.detail).toEqual([
        {
          loc: ['body', 'webhook_url'],
          msg: expect.stringMatching(/^must be an http\(s\) URL$|^must be a public address: /),
          type: 'value_error',
        },
      ]);
    }
  });

  it('shows webhook_url to the admin scope only', async () => {
    expect(await put(strict, 'https://hooks.example.com/secret-path')).toMatchObject({
      status: 200,
      body: { webhook_url: 'https://hooks.example.com/secret-path' },
    });
    const asAdmin = await getJson(`${strict.url}/v1/budgets`, bearer(TOKENS.admin));
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body.items).toEqual([
      expect.objectContaining({ customer_id: 'acme', webhook_url: 'https://hooks.example.com/secret-path' }),
    ]);
    const asReader = await getJson(`${strict.url}/v1/budgets`, bearer(TOKENS.read));
    expect(asReader.status).toBe(200);
    expect(asReader.body.items).toEqual([expect.objectContaining({ customer_id: 'acme', amount_cents: 100 })]);
    expect(asReader.body.items).toEqual([expect.not.objectContaining({ webhook_url: expect.anything() })]);
    expect(JSON.stringify(asReader.body)).not.toContain('secret-path');
    const status = await getJson(`${strict.url}/v1/budgets/acme/status`, bearer(TOKENS.read));
    expect(status.status).toBe(200);
    expect(JSON.stringify(status.body)).not.toContain('hooks.example.com');
  });
});

describe('a per-budget webhook_url is checked again on the address it resolves to when sent', () => {
  let c: TestCollector;
  let good: Awaited<ReturnType<typeof healthy>>;
  const zone = new Map<string, string>();
  const resolveHost: HostResolver = async (host) => {
    const address = zone.get(host);
    if (address === undefined) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return [{ address, family: 4 }];
  };
  afterAll(async () => {
    await c?.close();
    await good?.close();
  });

  it('refuses a name that resolved to a public address when defined and to a forbidden one when sent', async () => {
    good = await healthy();
    const port = new URL(good.url).port;
    c = await startTestCollector({ alerts: { secret: SECRET }, resolveHost });
    // Defined while the names point at a public (documentation-free, never contacted) address…
    zone.set('rebind.example.com', '93.184.215.14');
    zone.set('imds.example.com', '93.184.215.14');
    for (const [customer, host] of [
      ['rebind', 'rebind.example.com'],
      ['imds', 'imds.example.com'],
    ] as const) {
      const res = await putJson(`${c.url}/v1/budgets/${customer}`, {
        amount_cents: 10,
        window: 'day',
        webhook_url: `http://${host}:${port}/hook`,
      });
      expect(res.status).toBe(200);
    }
    // …then DNS changes: loopback (where a receiver does listen) and the metadata address.
    zone.set('rebind.example.com', '127.0.0.1');
    zone.set('imds.example.com', '169.254.169.254');
    const res = await post(`${c.url}/v1/traces`, costSpans(['rebind', 'imds'], '12'));
    expect(res.status).toBe(200);
    await until(
      'both attempts to be recorded',
      async () => {
        const errors = await lastErrors(c);
        return Boolean(errors.rebind && errors.imds);
      },
      20_000,
    );
    const errors = await lastErrors(c);
    expect(errors.rebind).toMatch(/rebind\.example\.com resolves to 127\.0\.0\.1: a loopback address/);
    expect(errors.imds).toMatch(/imds\.example\.com resolves to 169\.254\.169\.254: a cloud metadata address/);
    expect(good.requests()).toBe(0);
    expect(await alertOutcomes(c)).toEqual(['failed']);
  });

  it('connects to the address the injected resolver gave when the policy allows it', async () => {
    const ok = await healthy();
    const lax = await startTestCollector({ alerts: { secret: SECRET, allowPrivateWebhooks: true }, resolveHost });
    try {
      zone.set('receiver.example.com', '127.0.0.1');
      const url = `http://receiver.example.com:${new URL(ok.url).port}/hook`;
      const put = await putJson(`${lax.url}/v1/budgets/initech`, {
        amount_cents: 10,
        window: 'day',
        webhook_url: url,
      });
      expect(put.status).toBe(200);
      await post(`${lax.url}/v1/traces`, costSpans(['initech'], '12'));
      await until('the alert', () => ok.customers.length === 1, 20_000);
      expect(ok.customers).toEqual(['initech']);
    } finally {
      await lax.close();
      await ok.close();
    }
  });
});

describe('forwarding to Polar: bounded too', () => {
  it('abandons a hanging Polar, reads 64 KB of a huge error, follows no redirect — and parks nothing', async () => {
    const target = await receiver((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"inserted":1,"duplicates":0}');
    });
    let stage = 0;
    let bigWritten = 0;
    // First request hangs; the second gets a 256 MiB 503; the third a redirect to a server that would accept.
    const polar = await receiver((req, res) => {
      stage++;
      if (stage === 1) {
        req.resume();
        return;
      }
      req.resume();
      if (stage === 2) {
        res.writeHead(503, { 'retry-after': '0' });
        void streamHuge(res, (bytes) => {
          bigWritten = bytes;
        });
        return;
      }
      res.writeHead(307, { location: `${target.url.replace('/hook', '')}/v1/events/ingest` }).end();
    });
    const c = await startTestCollector({
      billing: { polarToken: 'polar_oat_x', polarApiUrl: polar.url.replace('/hook', '') },
    });
    try {
      const res = await post(`${c.url}/v1/events/ingest`, {
        events: [
          {
            name: 'support.llm',
            external_customer_id: 'globex',
            external_id: 'ev-1',
            timestamp: '2026-03-05T12:00:00Z',
            metadata: { _cost: { amount: '0.5', currency: 'usd' } },
          },
        ],
      });
      expect(res.status).toBeLessThan(300);
      await until('the first request', () => polar.requests() >= 1, 10_000);
      // Limit 30 s (the old forwarder held a hanging Polar 71 s).
      await until('the hanging request to be abandoned and the batch sent again', () => polar.requests() >= 2, 45_000);
      expect(polar.closed()).toBeGreaterThanOrEqual(1);
      await until('the redirect', () => polar.requests() >= 3, 20_000);
      expect(bigWritten).toBeLessThan(32 * 1024 * 1024);
      await new Promise((r) => setTimeout(r, 500));
      expect(target.requests()).toBe(0);
      const forwarding = await getJson(`${c.url}/v1/forwarding`);
      expect(forwarding.body).toMatchObject({ pending: 1, parked: 0 });
    } finally {
      await c.close();
      await polar.close();
      await target.close();
    }
  }, 90_000);
});
