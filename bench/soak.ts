/**
 * `npm run bench:soak`: ingest through HTTP (OTLP/protobuf, 1000-span requests) into one `costtrace serve` with
 * retention on until the store has taken SOAK_TOTAL spans (default 50,000,000); after every SOAK_STEP
 * (default 5,000,000) prints one JSON line: spans/s over the step, server RSS (now and peak), file size, bytes on
 * disk per span, server CPU µs per span, and the latency of six questions (those of `bench:query`). Span start times
 * are spread over the last SOAK_SPREAD_DAYS days (default 60) so retention (SOAK_RETAIN_DAYS, default 30; 0 = no
 * retention: every span stays live) removes part of what arrives, as in production. SOAK_ORDER=time (default) sends
 * them in time order, as live traffic arrives (request n starts n/requests of the spread later); SOAK_ORDER=spread
 * sends consecutive requests to different days (a backfill interleaved with live traffic: the worst case for the
 * time-block look-ups of writer/span-dedupe.ts).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFixture, SPANS_PER_REQUEST } from './otlp-fixture.ts';
import { startBenchServer } from './server.ts';

const TOTAL = Number(process.env.SOAK_TOTAL ?? 50_000_000);
const STEP = Number(process.env.SOAK_STEP ?? 5_000_000);
const SPREAD_DAYS = Number(process.env.SOAK_SPREAD_DAYS ?? 60);
const RETAIN_DAYS = Number(process.env.SOAK_RETAIN_DAYS ?? 30);
const ORDER = process.env.SOAK_ORDER ?? 'time';
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const DAY_NS = 86_400_000_000_000n;

const dir = mkdtempSync(join(tmpdir(), 'costtrace-soak-'));
const dbPath = join(dir, 'soak.duckdb');
const fixture = await makeFixture();
const server = await startBenchServer(
  dir,
  'soak',
  RETAIN_DAYS > 0 ? { COSTTRACE_RETAIN_SPANS_DAYS: String(RETAIN_DAYS) } : {},
);
const REQUESTS = Math.ceil(TOTAL / SPANS_PER_REQUEST);

/** The fixture with its span times moved `shiftNs` into the past (every fixed64 time field rewritten). */
function shifted(k: number, shiftNs: bigint): Buffer {
  const body = fixture.requestBody(k);
  for (const at of fixture.timeOffsets) body.writeBigUInt64LE(body.readBigUInt64LE(at) - shiftNs, at);
  return body;
}

/** How far into the past request n's spans move. */
function shiftOf(n: number): bigint {
  if (ORDER === 'spread') return BigInt(n % SPREAD_DAYS) * DAY_NS;
  const spread = BigInt(SPREAD_DAYS) * DAY_NS;
  return spread - (spread * BigInt(Math.min(n, REQUESTS))) / BigInt(REQUESTS);
}

const today = new Date().toISOString().slice(0, 10);
const first = new Date(Date.now() - (SPREAD_DAYS + 1) * 86_400_000).toISOString().slice(0, 10);
const questions = {
  metrics_daily_all: `/v1/metrics?start_date=${first}&end_date=${today}&interval=day`,
  metrics_daily_one_customer: `/v1/metrics?start_date=${first}&end_date=${today}&interval=day&customer_id=customer-7`,
  customers_top50_by_profit: `/v1/metrics/customers?start_date=${first}&end_date=${today}&sort=-profit&limit=50`,
  cost_drivers_by_model: `/v1/cost-drivers?start_date=${first}&end_date=${today}&group_by=model`,
  cost_drivers_one_customer: `/v1/cost-drivers?start_date=${first}&end_date=${today}&group_by=model&customer_id=customer-7`,
  traces_one_customer_by_cost: `/v1/traces?customer_id=customer-7&start_date=${first}&end_date=${today}&sort=-cost`,
};

async function latencies(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, path] of Object.entries(questions)) {
    const started = performance.now();
    const res = await fetch(`${server.url}${path}`);
    await res.arrayBuffer();
    out[name] = Math.round(performance.now() - started);
    if (res.status !== 200) out[`${name}_status`] = res.status;
  }
  return out;
}

let k = 1;
let stored = 0;
for (let target = STEP; target <= TOTAL; target += STEP) {
  const cpuBefore = server.cpuSeconds();
  const startedAt = stored;
  const started = performance.now();
  const client = async () => {
    while (stored < target) {
      const n = k++;
      const res = await fetch(`${server.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: shifted(n, shiftOf(n)),
      });
      await res.arrayBuffer();
      if (res.status === 200) stored += SPANS_PER_REQUEST;
      else await new Promise((r) => setTimeout(r, 100));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  const seconds = (performance.now() - started) / 1000;
  const spans = stored - startedAt;
  const fileBytes = statSync(dbPath).size;
  process.stdout.write(
    `${JSON.stringify({
      bench: 'soak',
      spans_sent: stored,
      spans_per_s: Math.round(spans / seconds),
      server_cpu_us_per_span: Number((((server.cpuSeconds() - cpuBefore) * 1e6) / spans).toFixed(1)),
      server_rss_mb: server.rssNowMb(),
      server_rss_peak_mb: server.maxRssMb(),
      file_mb: Math.round(fileBytes / 1e6),
      // Bytes per span sent: retention keeps only the last RETAIN_DAYS of the SPREAD_DAYS spread.
      file_bytes_per_span_sent: Math.round(fileBytes / stored),
      query_ms: await latencies(),
      retain_days: RETAIN_DAYS,
      order: ORDER,
      spread_days: SPREAD_DAYS,
      machine: { cpus: cpus().length, node: process.version },
    })}\n`,
  );
}
await server.stop();
rmSync(dir, { recursive: true, force: true });
