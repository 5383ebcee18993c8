/**
 * `npm run bench:mixed`: small requests from many clients, OTLP alone and then with 25% of the requests
 * being event batches (`POST /v1/events/ingest`), each against a fresh `costtrace serve`. Events used to
 * cost one serialized transaction per request; now they are grouped like spans. Prints one JSON line per mode.
 * BENCH_SECONDS (default 15) per mode; BENCH_CONCURRENCY (default 32) clients.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBenchServer } from './server.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const SPANS_PER_REQUEST = 10;
const EVENTS_PER_REQUEST = 10;
const dir = mkdtempSync(join(tmpdir(), 'costtrace-bench-mixed-'));
let n = 1;

function otlpBody(): string {
  const traceId = `${(n++).toString(16).padStart(12, '0')}${'a'.repeat(20)}`;
  const spans = Array.from({ length: SPANS_PER_REQUEST }, (_, i) => ({
    traceId,
    spanId: (i + 1).toString(16).padStart(16, '0'),
    name: 'op',
    startTimeUnixNano: '1700000000000000000',
    endTimeUnixNano: '1700000001000000000',
    attributes: [
      { key: 'customer.id', value: { stringValue: `c${n % 50}` } },
      { key: '_cost.amount', value: { doubleValue: 0.01 } },
    ],
  }));
  return JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] });
}

function eventsBody(): string {
  const base = n++;
  const events = Array.from({ length: EVENTS_PER_REQUEST }, (_, i) => ({
    name: 'llm',
    external_customer_id: `c${base % 50}`,
    external_id: `e-${base}-${i}`,
    timestamp: '2026-01-05T10:00:00Z',
    metadata: { _cost: { amount: '0.0153', currency: 'usd' } },
  }));
  return JSON.stringify({ events });
}

async function run(mode: string, eventShare: number) {
  const server = await startBenchServer(dir, mode);
  const statuses: Record<string, number> = {};
  let otlpRequests = 0;
  let eventRequests = 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  const client = async (id: number) => {
    for (let i = 0; performance.now() < deadline; i++) {
      // Deterministic mix: every client sends events on the same share of its requests.
      const isEvents = eventShare > 0 && (i + id) % Math.round(1 / eventShare) === 0;
      const res = await fetch(`${server.url}${isEvents ? '/v1/events/ingest' : '/v1/traces'}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: isEvents ? eventsBody() : otlpBody(),
      });
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status === 200) {
        if (isEvents) eventRequests++;
        else otlpRequests++;
      } else await new Promise((r) => setTimeout(r, 50));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => client(i)));
  const seconds = (performance.now() - started) / 1000;
  await server.stop();
  process.stdout.write(
    `${JSON.stringify({
      bench: 'mixed',
      mode,
      requests_per_s: Math.round((otlpRequests + eventRequests) / seconds),
      otlp_requests_per_s: Math.round(otlpRequests / seconds),
      event_requests_per_s: Math.round(eventRequests / seconds),
      spans_per_s: Math.round((otlpRequests * SPANS_PER_REQUEST) / seconds),
      events_per_s: Math.round((eventRequests * EVENTS_PER_REQUEST) / seconds),
      statuses,
      seconds: Number(seconds.toFixed(1)),
      concurrency: CONCURRENCY,
      server_rss_max_mb: server.maxRssMb(),
      machine: { cpus: cpus().length, node: process.version },
    })}\n`,
  );
}

await run('otlp_only', 0);
await run('events_25_percent', 0.25);
rmSync(dir, { recursive: true, force: true });
