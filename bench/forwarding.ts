/**
 * `npm run bench:forwarding`: what forwarding costs to Polar cost ingest, and how fast the outbox drains. Against
 * `costtrace serve` in its own process, bench:ingest's OTLP/protobuf requests (1,000 spans: 100 roots with a
 * customer, 900 costed children → 900 Polar events each) for BENCH_SECONDS with BENCH_CONCURRENCY clients:
 * 1. forwarding off; 2. forwarding on, to a local fake of Polar's events API (test/helpers/fake-polar.ts, in this
 * process: it validates and stores every event as Polar would); then ingest stops and the outbox drains.
 * Prints one JSON line per step: spans/s and server CPU per span for both (ratio on/off), events/s delivered
 * while ingesting and while draining.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakePolar } from '../test/helpers/fake-polar.ts';
import { makeFixture, SPANS_PER_REQUEST } from './otlp-fixture.ts';
import { type BenchServer, startBenchServer } from './server.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const TOKEN = 'polar_oat_bench';
const dir = mkdtempSync(join(tmpdir(), 'costtrace-forward-bench-'));
const fixture = await makeFixture();
let k = 1;

function print(o: Record<string, unknown>) {
  process.stdout.write(`${JSON.stringify({ bench: 'forwarding', ...o })}\n`);
}

async function ingest(server: BenchServer) {
  let spans = 0;
  const cpu = server.cpuSeconds();
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const res = await fetch(`${server.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: fixture.requestBody(k++),
      });
      await res.arrayBuffer();
      if (res.status === 200) spans += SPANS_PER_REQUEST;
      else await new Promise((r) => setTimeout(r, 100));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  return {
    spansPerSecond: spans / seconds,
    spans,
    seconds,
    cpuMicrosPerSpan: ((server.cpuSeconds() - cpu) * 1e6) / Math.max(1, spans),
  };
}

const polar = await startFakePolar(TOKEN);
try {
  const offServer = await startBenchServer(dir, 'off');
  const off = await ingest(offServer);
  await offServer.stop();
  print({
    step: 'forwarding_off',
    spans_per_s: Math.round(off.spansPerSecond),
    server_cpu_us_per_span: Number(off.cpuMicrosPerSpan.toFixed(1)),
  });

  const onServer = await startBenchServer(dir, 'on', {
    COSTTRACE_POLAR_TOKEN: TOKEN,
    COSTTRACE_POLAR_API_URL: polar.url,
  });
  const on = await ingest(onServer);
  const deliveredWhileIngesting = polar.events.size;
  const expected = (on.spans / SPANS_PER_REQUEST) * 900;
  const drainStarted = performance.now();
  while (polar.events.size < expected) {
    await new Promise((r) => setTimeout(r, 100));
    if (performance.now() - drainStarted > 600_000) throw new Error('the outbox did not drain in 10 minutes');
  }
  const drainSeconds = (performance.now() - drainStarted) / 1000;
  const forwarding = (await (await fetch(`${onServer.url}/v1/forwarding`)).json()) as Record<string, unknown>;
  const rss = onServer.maxRssMb();
  await onServer.stop();
  print({
    step: 'forwarding_on',
    spans_per_s: Math.round(on.spansPerSecond),
    server_cpu_us_per_span: Number(on.cpuMicrosPerSpan.toFixed(1)),
    ingest_ratio_on_to_off: Number((on.spansPerSecond / off.spansPerSecond).toFixed(3)),
    events_expected: expected,
    events_per_s_while_ingesting: Math.round(deliveredWhileIngesting / on.seconds),
    drain_seconds: Number(drainSeconds.toFixed(1)),
    events_per_s_draining: Math.round((expected - deliveredWhileIngesting) / Math.max(drainSeconds, 0.001)),
    polar_requests: polar.requests.count,
    outbox_after: { pending: forwarding.pending, sent: forwarding.sent, parked: forwarding.parked },
    server_rss_max_mb: rss,
  });
  print({ step: 'machine', cpus: cpus().length, node: process.version, concurrency: CONCURRENCY, seconds: SECONDS });
} finally {
  await polar.close();
  rmSync(dir, { recursive: true, force: true });
}
