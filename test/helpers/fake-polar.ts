/**
 * A local stand-in for Polar's `POST /v1/events/ingest` (Polar is on the internet; these machines cannot reach
 * it), enforcing what ../shared/reference/polar.md documents of the real one: an organization token; per event
 * `name` ≤ 128 characters, `external_customer_id` (or `customer_id`), an aware `timestamp` not in the future, scalar
 * metadata (strings 1–500 characters) except `_cost` (`amount` a decimal of at most 17 digits with at most 12
 * after the point — so under 100,000 cents — and a currency matching `usd`, unanchored as Polar's pattern) and
 * `_llm` (vendor, model, input/output/total tokens); all-or-nothing 422 with `["body","events",i,…]` locations;
 * dedupe on `external_id` → `{inserted, duplicates}`. Faults can be queued (429 with Retry-After, 5xx).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface StoredEvent {
  readonly name: string;
  readonly external_customer_id: string;
  readonly external_id: string | null;
  readonly timestamp: string;
  readonly metadata: Record<string, unknown>;
}

export interface FakePolar {
  readonly url: string;
  /** Events stored, by external_id (events without one are kept under a generated key). */
  readonly events: Map<string, StoredEvent>;
  readonly requests: { count: number; refused422: number; faults: number };
  /** The next `n` requests answer `status` (with Retry-After seconds when given). */
  failNext(n: number, status: number, retryAfterSeconds?: number): void;
  /** Every request waits this long before answering (a slow Polar). */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

type Detail = { loc: Array<string | number>; msg: string; type: string };
type Obj = Record<string, unknown>;

const AMOUNT = /^-?(\d+)(?:\.(\d+))?$/;

function validate(e: unknown, i: number, nowMs: number, detail: Detail[]): void {
  const at = (...loc: Array<string | number>) => ['body', 'events', i, ...loc];
  if (e === null || typeof e !== 'object') {
    detail.push({ loc: at(), msg: 'Input should be a valid dictionary', type: 'dict_type' });
    return;
  }
  const ev = e as Obj;
  if (typeof ev.name !== 'string' || ev.name.length > 128) {
    detail.push({ loc: at('name'), msg: 'String should have at most 128 characters', type: 'string_too_long' });
  }
  if (typeof ev.external_customer_id !== 'string' && typeof ev.customer_id !== 'string') {
    detail.push({ loc: at('external_customer_id'), msg: 'Field required', type: 'missing' });
  }
  if (ev.timestamp !== undefined) {
    const t = String(ev.timestamp);
    const fraction = /\.(\d+)/.exec(t)?.[1] ?? '';
    const ms = Date.parse(t);
    if (!/(Z|[+-]\d{2}:\d{2})$/.test(t) || Number.isNaN(ms) || fraction.length > 6) {
      detail.push({ loc: at('timestamp'), msg: 'Input should be a valid datetime', type: 'datetime_parsing' });
    } else if (ms > nowMs) {
      detail.push({ loc: at('timestamp'), msg: 'Value error, Timestamp must be in the past.', type: 'value_error' });
    }
  }
  const metadata = (ev.metadata ?? {}) as Obj;
  for (const [key, value] of Object.entries(metadata)) {
    if (key === '_cost') {
      const cost = value as Obj;
      const m = AMOUNT.exec(String(cost?.amount));
      if (m === null) {
        detail.push({
          loc: at('metadata', '_cost', 'amount'),
          msg: 'Input should be a valid decimal',
          type: 'decimal_parsing',
        });
      } else {
        const whole = (m[1] as string).replace(/^0+/, '');
        const fraction = m[2] ?? '';
        if (fraction.length > 12) {
          detail.push({
            loc: at('metadata', '_cost', 'amount'),
            msg: 'Decimal input should have no more than 12 decimal places',
            type: 'decimal_max_places',
          });
        } else if (whole.length + 12 > 17) {
          detail.push({
            loc: at('metadata', '_cost', 'amount'),
            msg: 'Decimal input should have no more than 5 digits before the decimal point',
            type: 'decimal_whole_digits',
          });
        }
      }
      if (typeof cost?.currency !== 'string' || !/usd/.test(cost.currency)) {
        detail.push({
          loc: at('metadata', '_cost', 'currency'),
          msg: "String should match pattern 'usd'",
          type: 'string_pattern_mismatch',
        });
      }
    } else if (key === '_llm') {
      const llm = value as Obj;
      for (const f of ['vendor', 'model', 'input_tokens', 'output_tokens', 'total_tokens']) {
        if (llm?.[f] === undefined)
          detail.push({ loc: at('metadata', '_llm', f), msg: 'Field required', type: 'missing' });
      }
    } else if (typeof value === 'string') {
      if (value.length < 1 || value.length > 500) {
        detail.push({ loc: at('metadata', key), msg: 'String should have 1 to 500 characters', type: 'string_length' });
      }
    } else if (typeof value !== 'number' && typeof value !== 'boolean') {
      detail.push({
        loc: at('metadata', key),
        msg: 'Input should be a valid string, number or boolean',
        type: 'type_error',
      });
    }
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

export async function startFakePolar(token: string): Promise<FakePolar> {
  const events = new Map<string, StoredEvent>();
  const requests = { count: 0, refused422: 0, faults: 0 };
  const faults: Array<{ status: number; retryAfterSeconds?: number }> = [];
  let delayMs = 0;
  let anonymous = 0;
  const server: Server = createServer(async (req, res) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    try {
      if (req.method !== 'POST' || req.url !== '/v1/events/ingest') return send(404, { detail: 'Not Found' });
      requests.count++;
      const body = (await readJson(req)) as { events?: unknown[] };
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      if (req.headers.authorization !== `Bearer ${token}`) return send(401, { error: 'invalid_token' });
      const fault = faults.shift();
      if (fault) {
        requests.faults++;
        const headers: Record<string, string> =
          fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
        return send(fault.status, { detail: 'fault injected' }, headers);
      }
      if (!Array.isArray(body.events)) {
        return send(422, { detail: [{ loc: ['body', 'events'], msg: 'Field required', type: 'missing' }] });
      }
      const detail: Detail[] = [];
      const now = Date.now();
      body.events.forEach((e, i) => {
        validate(e, i, now, detail);
      });
      if (detail.length > 0) {
        requests.refused422++;
        return send(422, { detail });
      }
      let inserted = 0;
      for (const e of body.events as StoredEvent[]) {
        const key = e.external_id ?? `anonymous-${anonymous++}`;
        if (events.has(key)) continue;
        events.set(key, e);
        inserted++;
      }
      return send(200, { inserted, duplicates: body.events.length - inserted });
    } catch (err) {
      return send(400, { detail: (err as Error).message });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    events,
    requests,
    failNext(n, status, retryAfterSeconds) {
      for (let i = 0; i < n; i++)
        faults.push({ status, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) });
    },
    setDelay(ms) {
      delayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
