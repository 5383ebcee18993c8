/** Tools for hostile-client tests: a bystander client that keeps ingesting, RSS sampling, raw slow uploads. */
import { request } from 'node:http';
import { jsonRequest, protobufRequest, type SpanSpec } from './otlp.ts';

export interface BystanderReport<T> {
  readonly result: T;
  /** Status of every request the bystander made while the attack ran. */
  readonly statuses: number[];
  /** Trace ids the bystander got a 200 for. */
  readonly storedTraceIds: string[];
}

let bystanderRun = 0;

/**
 * Runs `attack` while a well-behaved client keeps sending small protobuf batches (and, with `events`, event
 * batches). The caller asserts the bystander never saw a 5xx and that what it was acknowledged is stored.
 */
export async function withBystander<T>(
  url: string,
  attack: () => Promise<T>,
  options: { events?: boolean } = {},
): Promise<BystanderReport<T>> {
  const run = (++bystanderRun).toString(16).padStart(4, '0');
  const statuses: number[] = [];
  const storedTraceIds: string[] = [];
  let running = true;
  const loop = (async () => {
    for (let i = 0; running || i < 3; i++) {
      const traceId = `${run}${i.toString(16).padStart(8, '0')}${'b'.repeat(20)}`;
      const spans: SpanSpec[] = [
        { traceId, spanId: '1'.repeat(16), attributes: { 'customer.id': 'bystander', '_cost.amount': 1 } },
      ];
      const res = await fetch(`${url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: protobufRequest(jsonRequest(spans)),
      });
      await res.arrayBuffer();
      statuses.push(res.status);
      if (res.status === 200) storedTraceIds.push(traceId);
      if (options.events) {
        const ev = await fetch(`${url}/v1/events/ingest`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ events: [{ name: 'bystander', external_customer_id: 'bystander' }] }),
        });
        await ev.arrayBuffer();
        statuses.push(ev.status);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    const result = await attack();
    return { result, statuses, storedTraceIds };
  } finally {
    running = false;
    await loop;
  }
}

/** Runs `fn` while sampling this process's RSS every 20 ms; returns the growth over the starting RSS. */
export async function rssGrowthDuring<T>(fn: () => Promise<T>): Promise<{ result: T; growthBytes: number }> {
  globalThis.gc?.();
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, growthBytes: peak - start };
  } finally {
    clearInterval(timer);
  }
}

export interface SlowUpload {
  /** Status the server answered (0 if the connection closed without an answer). */
  readonly done: Promise<{ status: number; body: string; closed: boolean }>;
  /** Sends more bytes. */
  write(chunk: Buffer | string): void;
  end(): void;
  destroy(): void;
}

/** An upload whose body the test sends piece by piece (chunked), like a slow or stalled client. */
export function slowUpload(url: string, path: string, contentType: string): SlowUpload {
  const u = new URL(url);
  const req = request({
    host: u.hostname,
    port: u.port,
    path,
    method: 'POST',
    headers: { 'content-type': contentType, 'transfer-encoding': 'chunked' },
    agent: false,
  });
  const done = new Promise<{ status: number; body: string; closed: boolean }>((resolve) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, closed: res.headers.connection === 'close' }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body, closed: true }));
    });
    req.on('error', () => resolve({ status: 0, body: '', closed: true }));
  });
  req.flushHeaders();
  return {
    done,
    write: (chunk) => {
      if (!req.destroyed) req.write(chunk);
    },
    end: () => {
      if (!req.destroyed) req.end();
    },
    destroy: () => req.destroy(),
  };
}

/**
 * A protobuf ExportTraceServiceRequest of `spans` empty spans (two bytes each on the wire): the amplification
 * attack — tiny once gzipped, millions of objects if decoded without limits.
 */
export function emptySpansRequest(spans: number): Buffer {
  const varint = (n: number): Buffer => {
    const out: number[] = [];
    let rest = n;
    while (rest > 0x7f) {
      out.push((rest & 0x7f) | 0x80);
      rest = Math.floor(rest / 128);
    }
    out.push(rest);
    return Buffer.from(out);
  };
  // ExportTraceServiceRequest{resource_spans: ResourceSpans{scope_spans: ScopeSpans{spans: Span{} × n}}}
  const scope = Buffer.alloc(spans * 2, Buffer.from([0x12, 0x00]));
  const scopeMsg = Buffer.concat([Buffer.from([0x12]), varint(scope.length), scope]);
  return Buffer.concat([Buffer.from([0x0a]), varint(scopeMsg.length), scopeMsg]);
}

/**
 * `count` uploads of `megabytes` MB of events each to `/v1/events/ingest`, sent slowly (a pause after each MB
 * of every upload); resolves with each upload's answer.
 */
export async function slowEventUploads(
  url: string,
  count: number,
  megabytes: number,
  pauseMs: number,
): Promise<Array<{ status: number; body: string; closed: boolean }>> {
  const event = JSON.stringify({ name: 'bulk', external_customer_id: 'bulk', metadata: { note: 'x'.repeat(400) } });
  const chunk = Buffer.from(`${event},`.repeat(Math.floor((1024 * 1024) / (event.length + 1))));
  const uploads = Array.from({ length: count }, () => slowUpload(url, '/v1/events/ingest', 'application/json'));
  for (const u of uploads) u.write('{"events":[');
  for (let mb = 0; mb < megabytes; mb++) {
    for (const u of uploads) u.write(chunk);
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  for (const u of uploads) {
    u.write(`${event}]}`);
    u.end();
  }
  return Promise.all(uploads.map((u) => u.done));
}
