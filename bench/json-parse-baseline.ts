/**
 * The least any OTLP receiver must do: V8's `JSON.parse` of the OTLP/JSON form of the bench's requests, in a process
 * of its own (spawned by bench/ingest.ts, requests as lines of the file in argv[2]). Prints the CPU (user + system,
 * `process.cpuUsage`) per span in µs as JSON: `{cpu_us_per_span, spans, seconds}`. argv[3]: seconds to run.
 */
import { readFileSync } from 'node:fs';

const bodies = readFileSync(process.argv[2] as string, 'utf8')
  .split('\n')
  .filter(Boolean);
const seconds = Number(process.argv[3] ?? 5);
let spans = 0;
let sink = 0;
const count = (r: { resourceSpans: Array<{ scopeSpans: Array<{ spans: unknown[] }> }> }) =>
  r.resourceSpans.reduce((n, rs) => n + rs.scopeSpans.reduce((m, ss) => m + ss.spans.length, 0), 0);
// Warm-up (the JIT), then measured.
for (const b of bodies) sink += count(JSON.parse(b));
const before = process.cpuUsage();
const deadline = performance.now() + seconds * 1000;
for (let i = 0; performance.now() < deadline; i++) {
  const parsed = JSON.parse(bodies[i % bodies.length] as string);
  spans += count(parsed);
}
const used = process.cpuUsage(before);
process.stdout.write(
  `${JSON.stringify({ cpu_us_per_span: (used.user + used.system) / spans, spans, seconds, sink: sink > 0 })}\n`,
);
