/**
 * `npm run bench:ingest`: sustained OTLP/protobuf ingest, end to end (HTTP → decode → pipeline →
 * committed in DuckDB) against `costtrace serve` in its own process, and the in-process ceiling
 * (decode + pipeline + commit, no HTTP) in the same run. Prints one JSON line per measurement.
 * BENCH_SECONDS (default 30) sets the end-to-end duration; BENCH_CONCURRENCY (default 8) the requests
 * in flight; BENCH_PRICE_RULES=N runs both with a price book of N rules (bench/price-book.ts); BENCH_BUDGETS=N
 * defines N budgets (the `*` default among them) before the end-to-end run. Beside spans/s and the ratio to the
 * ceiling it prints the server's CPU (user + system, all threads, /proc) per acknowledged span, spans per CPU-second,
 * and that CPU per span ÷ the CPU per span of `JSON.parse` on the OTLP/JSON form of the same requests
 * (`cpu_ratio_to_json_parse`, measured in the same run in a process of its own).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCollector } from '../collector/collector.ts';
import { makeFixture, SPANS_PER_REQUEST } from './otlp-fixture.ts';
import { writeBenchPriceBook } from './price-book.ts';
import { startBenchServer } from './server.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const CEILING_SECONDS = Math.min(15, SECONDS);
const dir = mkdtempSync(join(tmpdir(), 'costtrace-bench-'));
const fixture = await makeFixture();
const PRICE_RULES = Number(process.env.BENCH_PRICE_RULES ?? 0);
/** BENCH_BUDGETS=N: the `*` default plus N − 1 budgets of their own (the fixture's 50 customers among them). */
const BUDGETS = Number(process.env.BENCH_BUDGETS ?? 0);
const pricesFile = PRICE_RULES > 0 ? writeBenchPriceBook(dir, PRICE_RULES) : undefined;
let k = 1;

function print(o: Record<string, unknown>) {
  process.stdout.write(`${JSON.stringify({ bench: 'ingest', ...o })}\n`);
}

/** In-process ceiling: the same work minus HTTP (decode on the worker pool, pipeline, commit). */
async function ceiling() {
  const c = await openCollector({
    dbPath: join(dir, 'ceiling.duckdb'),
    maxBodyBytes: 64 << 20,
    ingestTokens: [],
    readTokens: [],
    ...(pricesFile ? { pricesFile } : {}),
  });
  const deadline = performance.now() + CEILING_SECONDS * 1000;
  let spans = 0;
  const started = performance.now();
  const worker = async () => {
    while (performance.now() < deadline) {
      // The same decode path as the server: worker threads for large requests.
      const { records } = await c.decoder.decode('protobuf', fixture.requestBody(k++));
      await c.queue.submit(records);
      spans += records.length;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  await c.close();
  return spans / seconds;
}

async function endToEnd() {
  const server = await startBenchServer(dir, 'e2e', pricesFile ? { COSTTRACE_PRICES_FILE: pricesFile } : {});
  const url = server.url;
  for (let i = 0; i < BUDGETS; i++) {
    const id = i === 0 ? '*' : `customer-${i - 1}`;
    const res = await fetch(`${url}/v1/budgets/${encodeURIComponent(id)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount_cents: 1_000_000 + i, window: i % 2 ? 'day' : 'month', thresholds: [0.5, 0.8, 1] }),
    });
    if (res.status !== 200) throw new Error(`budget ${id}: ${res.status}`);
  }
  const statuses: Record<string, number> = {};
  let spans = 0;
  const cpuBefore = server.cpuSeconds();
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const res = await fetch(`${url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: fixture.requestBody(k++),
      });
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status === 200) spans += SPANS_PER_REQUEST;
      else if (res.status === 429 || res.status === 503) await new Promise((r) => setTimeout(r, 100));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  const maxRss = server.maxRssMb();
  const cpuSeconds = server.cpuSeconds() - cpuBefore;
  // What the load left for later (DuckDB's checkpoint of the WAL) is charged to it: CPU up to the server's exit,
  // whose shutdown CHECKPOINT writes everything still in the WAL.
  const cpuWithCheckpoint = (await server.stop()) - cpuBefore;
  const perSpan = (cpu: number) => (cpu * 1e6) / Math.max(1, spans);
  return {
    spansPerSecond: spans / seconds,
    seconds,
    statuses,
    maxRss,
    cpuSeconds,
    cpuMicrosPerSpan: perSpan(cpuSeconds),
    cpuWithCheckpoint,
    cpuMicrosPerSpanWithCheckpoint: perSpan(cpuWithCheckpoint),
  };
}

/**
 * CPU per span of `JSON.parse` on the OTLP/JSON form of the same requests, in a process of its own
 * (json-parse-baseline.ts): the median of three 3-second runs (one run swung ±15% on this shared machine).
 */
function jsonParseMicrosPerSpan(): number {
  const file = join(dir, 'requests.jsonl');
  writeFileSync(file, `${Array.from({ length: 32 }, (_, i) => fixture.jsonBody(i + 1)).join('\n')}\n`);
  const script = new URL('./json-parse-baseline.ts', import.meta.url).pathname;
  const runs = [0, 1, 2].map(() => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', script, file, '3'], { encoding: 'utf8' });
    return (JSON.parse(out) as { cpu_us_per_span: number }).cpu_us_per_span;
  });
  return runs.sort((a, b) => a - b)[1] as number;
}

const ceilingRate = await ceiling();
print({ mode: 'ceiling_in_process', spans_per_s: Math.round(ceilingRate), seconds: CEILING_SECONDS });
const e2e = await endToEnd();
const parseMicros = jsonParseMicrosPerSpan();
print({ mode: 'json_parse_otlp_json_own_process', cpu_us_per_span: Number(parseMicros.toFixed(3)) });
print({
  mode: 'end_to_end_http_protobuf',
  spans_per_s: Math.round(e2e.spansPerSecond),
  ratio_to_ceiling: Number((e2e.spansPerSecond / ceilingRate).toFixed(3)),
  seconds: Number(e2e.seconds.toFixed(1)),
  concurrency: CONCURRENCY,
  price_rules: PRICE_RULES,
  budgets: BUDGETS,
  request_bytes: fixture.bytes,
  spans_per_request: SPANS_PER_REQUEST,
  statuses: e2e.statuses,
  server_rss_max_mb: Math.round(e2e.maxRss),
  // Steadier than rates on a shared machine: the server's CPU (all threads) per durable span.
  server_cpu_seconds: Number(e2e.cpuSeconds.toFixed(2)),
  server_cpu_us_per_span: Number(e2e.cpuMicrosPerSpan.toFixed(2)),
  // The same with the CPU of the shutdown checkpoint (the WAL the run left) — the figures below use this one.
  server_cpu_seconds_with_checkpoint: Number(e2e.cpuWithCheckpoint.toFixed(2)),
  server_cpu_us_per_span_with_checkpoint: Number(e2e.cpuMicrosPerSpanWithCheckpoint.toFixed(2)),
  spans_per_cpu_second: Math.round(1e6 / e2e.cpuMicrosPerSpanWithCheckpoint),
  // Issue 13's yardstick: CPU per durable span ÷ CPU per span of merely parsing the request (target ≤ 6).
  cpu_ratio_to_json_parse: Number((e2e.cpuMicrosPerSpanWithCheckpoint / parseMicros).toFixed(2)),
  machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
});
rmSync(dir, { recursive: true, force: true });
