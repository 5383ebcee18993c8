/**
 * `npm run bench:hostile`: peak server RSS under each hostile load of the hardening probe, each against a
 * fresh `costtrace serve` (its own process) while a bystander client keeps sending small OTLP batches.
 * Prints one JSON line per load: peak RSS, the attacker's answers, the bystander's answers.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { emptySpansRequest, slowEventUploads, slowUpload } from '../test/helpers/hostile.ts';
import { type BenchServer, startBenchServer } from './server.ts';

const dir = mkdtempSync(join(tmpdir(), 'costtrace-bench-hostile-'));

function count(into: Record<string, number>, status: number) {
  into[status] = (into[status] ?? 0) + 1;
}

async function bystander(url: string, until: () => boolean, statuses: Record<string, number>) {
  for (let i = 0; !until(); i++) {
    const traceId = `${i.toString(16).padStart(12, '0')}${'b'.repeat(20)}`;
    const body = JSON.stringify({
      resourceSpans: [
        { scopeSpans: [{ spans: [{ traceId, spanId: '1'.repeat(16), name: 'ok', startTimeUnixNano: '1' }] }] },
      ],
    });
    try {
      const res = await fetch(`${url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      await res.arrayBuffer();
      count(statuses, res.status);
    } catch {
      count(statuses, 0);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function measure(name: string, attack: (server: BenchServer) => Promise<Record<string, number>>) {
  const server = await startBenchServer(dir, name);
  await new Promise((r) => setTimeout(r, 500));
  const baseline = server.maxRssMb();
  server.resetPeak();
  let done = false;
  const bystanderStatuses: Record<string, number> = {};
  const side = bystander(server.url, () => done, bystanderStatuses);
  const started = performance.now();
  const attacker = await attack(server);
  done = true;
  await side;
  const line = {
    bench: 'hostile',
    load: name,
    server_rss_before_mb: baseline,
    server_rss_peak_mb: server.maxRssMb(),
    seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
    attacker_statuses: attacker,
    bystander_statuses: bystanderStatuses,
    machine: { cpus: cpus().length, node: process.version },
  };
  await server.stop();
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

await measure('gzipped_empty_span_flood_8x10MB', async (server) => {
  const body = gzipSync(emptySpansRequest(5_000_000));
  const statuses: Record<string, number> = { request_bytes: body.length };
  for (let round = 0; round < 3; round++) {
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const res = await fetch(`${server.url}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
          body,
        });
        await res.arrayBuffer();
        count(statuses, res.status);
      }),
    );
  }
  return statuses;
});

await measure('slowloris_70_trickling_uploads', async (server) => {
  const statuses: Record<string, number> = {};
  const slow = Array.from({ length: 70 }, () => slowUpload(server.url, '/v1/traces', 'application/json'));
  for (const s of slow) s.write('{"resourceSpans":');
  for (let i = 0; i < 8; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    for (const s of slow) s.write(' ');
  }
  for (const { status } of await Promise.all(slow.map((s) => s.done))) count(statuses, status);
  return statuses;
});

await measure('slow_5MB_event_uploads_x100', async (server) => {
  const statuses: Record<string, number> = {};
  for (const { status } of await slowEventUploads(server.url, 100, 5, 200)) count(statuses, status);
  return statuses;
});

rmSync(dir, { recursive: true, force: true });
