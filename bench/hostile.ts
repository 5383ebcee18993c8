/**
 * `npm run bench:hostile`: peak server RSS under each hostile load of the hardening probe, each against a
 * fresh `costtrace serve` (its own process) while a bystander client keeps sending small OTLP batches.
 * Prints one JSON line per load: peak RSS, the attacker's answers, the bystander's answers.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type BenchServer, startBenchServer } from './server.ts';

const dir = mkdtempSync(join(tmpdir(), 'costtrace-bench-hostile-'));
const MiB = 1024 * 1024;

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

/** A chunked upload the caller feeds; resolves with the status (0 if the connection closed unanswered). */
function upload(url: string, path: string) {
  const u = new URL(url);
  const req = request({
    host: u.hostname,
    port: u.port,
    path,
    method: 'POST',
    agent: false,
    headers: { 'content-type': path === '/v1/traces' ? 'application/json' : 'application/json' },
  });
  const done = new Promise<number>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
  });
  req.flushHeaders();
  return {
    done,
    write: (b: Buffer | string) => !req.destroyed && req.write(b),
    end: () => !req.destroyed && req.end(),
  };
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

function emptySpansFlood(spans: number): Buffer {
  const varint = (n: number) => {
    const out: number[] = [];
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    out.push(n);
    return Buffer.from(out);
  };
  const scope = Buffer.alloc(spans * 2, Buffer.from([0x12, 0x00]));
  const scopeMsg = Buffer.concat([Buffer.from([0x12]), varint(scope.length), scope]);
  return gzipSync(Buffer.concat([Buffer.from([0x0a]), varint(scopeMsg.length), scopeMsg]));
}

await measure('gzipped_empty_span_flood_8x10MB', async (server) => {
  const body = emptySpansFlood(5_000_000);
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
  const slow = Array.from({ length: 70 }, () => upload(server.url, '/v1/traces'));
  for (const s of slow) s.write('{"resourceSpans":');
  for (let i = 0; i < 8; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    for (const s of slow) s.write(' ');
  }
  for (const code of await Promise.all(slow.map((s) => s.done))) count(statuses, code);
  return statuses;
});

await measure('slow_5MB_event_uploads_x100', async (server) => {
  const statuses: Record<string, number> = {};
  const event = JSON.stringify({ name: 'bulk', external_customer_id: 'bulk', metadata: { note: 'x'.repeat(400) } });
  const chunk = Buffer.from(`${event},`.repeat(Math.floor(MiB / (event.length + 1))));
  const uploads = Array.from({ length: 100 }, () => upload(server.url, '/v1/events/ingest'));
  for (const u of uploads) u.write('{"events":[');
  for (let mb = 0; mb < 5; mb++) {
    for (const u of uploads) u.write(chunk);
    await new Promise((r) => setTimeout(r, 200));
  }
  for (const u of uploads) {
    u.write(`${event}]}`);
    u.end();
  }
  for (const code of await Promise.all(uploads.map((u) => u.done))) count(statuses, code);
  return statuses;
});

rmSync(dir, { recursive: true, force: true });
