/**
 * `npm run bench:overhead`: what costtrace's processors cost an instrumented app.
 * 1. Macro: a traced HTTP server (bench/overhead-server.ts) with and without the processors, alternating
 *    runs in the same session, under the same keep-alive load; spans are exported over OTLP to a sink.
 *    Reports requests/s and spans/s per variant and the overhead.
 * 2. Micro: CPU per span added by the processors (onStart + onEnding, no LLM pricing), and apart from it the
 *    LLM price lookup per priced span.
 * BENCH_SECONDS (default 5) per run, BENCH_ROUNDS (default 3) rounds per variant.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SpanKind } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { costSpanProcessors } from '../instrumentations/start.ts';
import { priceLlmUsage, usageFromAttributes } from '../src/pricing.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SPANS_PER_REQUEST = 3;
const print = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ bench: 'overhead', ...o })}\n`);

// ---- macro ----
const sink = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/x-protobuf' });
    res.end();
  });
});
await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
const sinkPort = (sink.address() as { port: number }).port;

async function runVariant(processors: 'on' | 'off'): Promise<number> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('overhead-server.ts', import.meta.url))],
    {
      env: { ...process.env, COSTTRACE_PROCESSORS: processors, SINK_URL: `http://127.0.0.1:${sinkPort}/v1/traces` },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((resolve) => {
    child.stdout?.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
  });
  const load = async (deadline: number) => {
    let n = 0;
    const worker = async () => {
      while (performance.now() < deadline) {
        const res = await fetch(`http://127.0.0.1:${port}/x`);
        await res.text();
        n++;
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    return n;
  };
  await load(performance.now() + 1000); // warm-up
  const started = performance.now();
  const requests = await load(started + SECONDS * 1000);
  const rate = requests / ((performance.now() - started) / 1000);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return rate;
}

const rates: Record<'on' | 'off', number[]> = { on: [], off: [] };
for (let i = 0; i < ROUNDS; i++) {
  rates.off.push(await runVariant('off'));
  rates.on.push(await runVariant('on'));
}
sink.close();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const off = median(rates.off);
const on = median(rates.on);
print({
  mode: 'traced_http_server',
  requests_per_s_without: Math.round(off),
  requests_per_s_with: Math.round(on),
  spans_per_s_without: Math.round(off * SPANS_PER_REQUEST),
  spans_per_s_with: Math.round(on * SPANS_PER_REQUEST),
  overhead_pct: Number((((off - on) / off) * 100).toFixed(2)),
  runs_requests_per_s: { without: rates.off.map(Math.round), with: rates.on.map(Math.round) },
  rounds: ROUNDS,
  seconds_per_run: SECONDS,
  cpus: cpus().length,
});

// ---- micro: CPU per span ----
function spanCost(processors: SpanProcessor[], n: number): number {
  const provider = new BasicTracerProvider({ spanProcessors: processors });
  const tracer = provider.getTracer('micro');
  const attrs = { 'server.address': 'api.vendor.example', 'http.request.method': 'POST', 'url.path': '/send' };
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) tracer.startSpan('POST', { kind: SpanKind.CLIENT, attributes: attrs }).end();
  return Number(process.hrtime.bigint() - t) / n / 1000;
}
const N = 200_000;
const noop = [new InMemorySpanExporter()].map(() => ({
  onStart() {},
  onEnd() {},
  forceFlush: async () => {},
  shutdown: async () => {},
})) as SpanProcessor[];
spanCost(noop, N);
spanCost([...costSpanProcessors({ rules: { http: [{ host: 'api.vendor.example', centsPerRequest: 0.1 }] } })], N);
const baseUs = spanCost(noop, N);
const withUs = spanCost(
  [...costSpanProcessors({ rules: { http: [{ host: 'api.vendor.example', centsPerRequest: 0.1 }] } }), ...noop],
  N,
);
const usage = usageFromAttributes(
  (k) =>
    ({
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.provider.name': 'openai',
      'gen_ai.usage.input_tokens': 1200,
      'gen_ai.usage.output_tokens': 300,
    })[k],
);
const M = 20_000;
const t = process.hrtime.bigint();
for (let i = 0; i < M; i++) if (usage) priceLlmUsage(usage, new Date());
const llmUs = Number(process.hrtime.bigint() - t) / M / 1000;
print({
  mode: 'cpu_per_span',
  span_us_without_processors: Number(baseUs.toFixed(3)),
  span_us_with_processors: Number(withUs.toFixed(3)),
  added_us_per_span: Number((withUs - baseUs).toFixed(3)),
  note: 'priced vendor HTTP client span (rule match), customer scope absent',
  llm_price_lookup_us: Number(llmUs.toFixed(2)),
});
