/**
 * `npm run bench:reprice`: re-pricing a year of stored spans while ingest runs. BENCH_ROWS (default 10,000,000)
 * records over 2025 — 90% LLM spans priced by the bundled table (`inferred`, 8 models, GenAI attributes kept),
 * 10% roots — are generated in DuckDB through the collector's schema (with its rollup and per-trace summaries).
 * `costtrace serve` then opens the file with a price book giving every model a new price, and:
 * 1. ingest alone (bench:ingest's OTLP/protobuf requests, BENCH_CONCURRENCY clients) for BENCH_SECONDS;
 * 2. `POST /v1/prices/reprice` for all of 2025 while the same ingest runs: seconds, records, changed, and the
 *    ingest rate while it ran (ratio to step 1);
 * 3. the same re-price again (nothing changes: the cost of checking).
 * Prints one JSON line per step.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCollector } from '../collector/collector.ts';
import { rebuildRollup } from '../collector/derived/rollup.ts';
import { foldAllSettledSpans } from '../collector/derived/trace-summaries.ts';
import { makeFixture, SPANS_PER_REQUEST } from './otlp-fixture.ts';
import { startBenchServer } from './server.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const CUSTOMERS = 10_000;
const MODELS = [
  'gpt-4o',
  'gpt-4o-mini',
  'claude-sonnet-4',
  'claude-haiku-4',
  'gemini-2.5-pro',
  'o3',
  'gpt-4.1',
  'o4-mini',
];
const dir = mkdtempSync(join(tmpdir(), 'costtrace-reprice-bench-'));
const dbPath = join(dir, 'reprice.duckdb');

function print(o: Record<string, unknown>) {
  process.stdout.write(`${JSON.stringify({ bench: 'reprice', ...o })}\n`);
}

// ---- a year of inferred LLM spans ----
const t0 = performance.now();
const generator = await openCollector({ dbPath, maxBodyBytes: 1 << 20, ingestTokens: [], readTokens: [] });
const models = `[${MODELS.map((m) => `'${m}'`).join(',')}]`;
await generator.queue.exclusive(async (conn) => {
  await conn.run(`INSERT INTO customers SELECT i + 1, 'cust-' || i, NULL, NULL, TIMESTAMP '2025-01-01', false
    FROM range(${CUSTOMERS}) t(i)`);
  await conn.run(`INSERT INTO records
    SELECT 'span', md5((i // 10)::VARCHAR), lpad(to_hex(i), 16, '0'),
      CASE WHEN i % 10 = 0 THEN NULL ELSE lpad(to_hex(i - i % 10), 16, '0') END,
      CASE WHEN i % 10 = 0 THEN 'POST /answer' ELSE 'chat ' || m END,
      2, 'api', 'bench', 0, 0,
      TIMESTAMP '2025-01-01' + to_microseconds(((i // 10) * (31536000000000 // ${ROWS / 10}) + (i % 10) * 1000)::BIGINT),
      0, NULL, NULL, 'cust-' || (hash(i // 10) % ${CUSTOMERS}), false, 'cust-' || (hash(i // 10) % ${CUSTOMERS}),
      (hash(i // 10) % ${CUSTOMERS} + 1)::INTEGER,
      CASE WHEN i % 10 = 0 THEN NULL ELSE (hash(i) % 100000)::DECIMAL(38,12) / 10000 END,
      CASE WHEN i % 10 = 0 THEN NULL ELSE 'inferred' END,
      NULL,
      CASE WHEN i % 10 = 0 THEN '{}' ELSE '{"gen_ai.provider.name":"openai","gen_ai.request.model":"' || m ||
        '","gen_ai.usage.input_tokens":' || (1000 + hash(i) % 1000) || ',"gen_ai.usage.output_tokens":' ||
        (100 + hash(i) % 300) || '}' END,
      TIMESTAMP '2026-01-01',
      CASE WHEN i % 10 = 0 THEN NULL ELSE 'openai' END,
      CASE WHEN i % 10 = 0 THEN NULL ELSE m END,
      NULL, false, NULL
    FROM (SELECT i, (${models})[(1 + hash(i) % 8)::BIGINT] AS m FROM range(${ROWS}) t(i))`);
  await rebuildRollup(conn);
  await foldAllSettledSpans(conn);
  await conn.run('CHECKPOINT');
});
await generator.close();
print({ step: 'generate', rows: ROWS, seconds: Number(((performance.now() - t0) / 1000).toFixed(1)) });

const book = join(dir, 'book.json');
writeFileSync(
  book,
  JSON.stringify({
    models: MODELS.map((model, i) => ({
      provider: 'openai',
      model,
      input_usd_per_mtok: String(1 + i / 4),
      output_usd_per_mtok: String(4 + i),
    })),
  }),
);
const server = await startBenchServer(dir, 'reprice', { COSTTRACE_PRICES_FILE: book });
const fixture = await makeFixture();
let k = 1;

/** Ingest with CONCURRENCY clients until `until()` says stop; spans committed per second and CPU per span. */
async function ingest(until: () => boolean) {
  let spans = 0;
  const cpu = server.cpuSeconds();
  const started = performance.now();
  const worker = async () => {
    while (!until()) {
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
  return { spansPerSecond: spans / seconds, seconds, serverCpuSeconds: server.cpuSeconds() - cpu };
}

/** One re-price of 2025 (node:http: a year of 10M records takes longer than fetch's 300 s header timeout). */
async function reprice(): Promise<{ seconds: number; body: Record<string, unknown> }> {
  const started = performance.now();
  const payload = JSON.stringify({ start_date: '2025-01-01', end_date: '2025-12-31' });
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      `${server.url}/v1/prices/reprice`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
  const body = JSON.parse(text) as Record<string, unknown>;
  if (status !== 200) throw new Error(`reprice → ${status}: ${text}`);
  return { seconds: (performance.now() - started) / 1000, body };
}

try {
  const deadline = performance.now() + SECONDS * 1000;
  const alone = await ingest(() => performance.now() > deadline);
  print({
    step: 'ingest_alone',
    spans_per_s: Math.round(alone.spansPerSecond),
    seconds: Number(alone.seconds.toFixed(1)),
  });

  let done = false;
  const running = reprice().then(
    (r) => ({ ok: true as const, r }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  void running.then(() => {
    done = true;
  });
  const during = await ingest(() => done);
  const settled = await running;
  if (!settled.ok) throw settled.err;
  const first = settled.r;
  print({
    step: 'reprice_while_ingesting',
    records: ROWS,
    reprice_seconds: Number(first.seconds.toFixed(1)),
    records_per_s: Math.round(ROWS / first.seconds),
    examined: first.body.records,
    changed: first.body.changed,
    ingest_spans_per_s_during: Math.round(during.spansPerSecond),
    ingest_ratio_to_alone: Number((during.spansPerSecond / alone.spansPerSecond).toFixed(3)),
  });
  const second = await reprice();
  print({
    step: 'reprice_again_no_changes',
    reprice_seconds: Number(second.seconds.toFixed(1)),
    examined: second.body.records,
    changed: second.body.changed,
  });
  print({ step: 'machine', cpus: cpus().length, node: process.version, server_rss_max_mb: server.maxRssMb() });
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
