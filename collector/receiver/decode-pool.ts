/**
 * Decodes and normalizes OTLP requests on worker threads. Large requests go to a worker (the body's memory
 * is transferred, not copied); small ones are cheaper to do inline. With no workers (size 0) everything is
 * inline. A worker that dies is replaced; the requests it held fail as retryable (503).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SpanRecord } from '../../src/records.ts';
import { decodeTraceRequestJson } from '../decode/json.ts';
import { decodeTraceRequestProtobuf } from '../decode/protobuf.ts';
import { DecodeError } from '../decode/types.ts';
import { NO_PRICING, type Pricing } from '../features/prices/pricing.ts';
import { normalizeSpans, type Rejection } from '../pipeline/normalize.ts';
import { UnavailableError } from '../writer/ingest-queue.ts';
import type { Encoding } from './status.ts';

export type DecodeRequest =
  | { readonly kind: 'decode'; readonly id: number; readonly encoding: Encoding; readonly body: ArrayBuffer }
  /** The price book in force from now on (messages to a worker are handled in order). */
  | { readonly kind: 'pricing'; readonly pricing: Pricing };

export type DecodeResponse =
  | { id: number; ok: true; received: number; records: SpanRecord[]; rejected: Rejection[] }
  | { id: number; ok: false; decodeError: 'malformed' | 'too_large' | null; message: string };

export interface Decoded {
  readonly received: number;
  readonly records: SpanRecord[];
  readonly rejected: Rejection[];
}

/**
 * Compiled (the installed package), the worker runs decode-worker.js directly. From the TypeScript sources,
 * a plain-JavaScript entry registers tsx in the worker first (loader flags do not reach workers).
 */
const WORKER_ENTRY = import.meta.url.endsWith('.ts')
  ? new URL('./decode-worker-entry.mjs', import.meta.url)
  : new URL('./decode-worker.js', import.meta.url);

/** Below this many bytes a request is decoded inline: the hop to a worker would cost more than it saves. */
const INLINE_BELOW_BYTES = 64 * 1024;

/** One fewer worker than cores (the main thread needs one), at least 1, at most 4. */
export function defaultDecodeWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

interface Slot {
  worker: Worker;
  inFlight: Map<number, { resolve: (d: Decoded) => void; reject: (e: Error) => void }>;
}

export class DecodePool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private next = 0;
  private closed = false;
  private pricing: Pricing = NO_PRICING;

  constructor(size: number) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  decode(encoding: Encoding, body: Buffer): Promise<Decoded> {
    if (this.slots.length === 0 || body.length < INLINE_BELOW_BYTES)
      return Promise.resolve(decodeInline(encoding, body, this.pricing));
    const slot = this.slots[this.next++ % this.slots.length] as Slot;
    const id = this.nextId++;
    // Transfer the body's memory when the Buffer owns all of it; else hand over a copy.
    const owned = body.byteOffset === 0 && body.buffer.byteLength === body.length;
    const buffer = (
      owned ? body.buffer : body.buffer.slice(body.byteOffset, body.byteOffset + body.length)
    ) as ArrayBuffer;
    return new Promise<Decoded>((resolve, reject) => {
      slot.inFlight.set(id, { resolve, reject });
      slot.worker.postMessage({ kind: 'decode', id, encoding, body: buffer } satisfies DecodeRequest, [buffer]);
    });
  }

  /** Requests decoded after this are priced with `pricing` (inline at once; each worker in message order). */
  setPricing(pricing: Pricing): void {
    this.pricing = pricing;
    for (const slot of this.slots) slot.worker.postMessage({ kind: 'pricing', pricing } satisfies DecodeRequest);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_ENTRY);
    worker.unref();
    if (this.pricing.version > 0)
      worker.postMessage({ kind: 'pricing', pricing: this.pricing } satisfies DecodeRequest);
    const slot: Slot = { worker, inFlight: new Map() };
    worker.on('message', (res: DecodeResponse) => {
      const waiting = slot.inFlight.get(res.id);
      if (!waiting) return;
      slot.inFlight.delete(res.id);
      if (res.ok) waiting.resolve({ received: res.received, records: res.records, rejected: res.rejected });
      else if (res.decodeError !== null) waiting.reject(new DecodeError(res.message, res.decodeError));
      else waiting.reject(new UnavailableError('decoder failed; retry later', 1));
    });
    let replaced = false;
    const fail = (why: string) => {
      if (replaced) return;
      replaced = true;
      process.stderr.write(`costtrace: decode worker ${why}\n`);
      for (const w of slot.inFlight.values()) w.reject(new UnavailableError('decoder stopped; retry later', 1));
      slot.inFlight.clear();
      if (!this.closed) {
        const index = this.slots.indexOf(slot);
        if (index !== -1) this.slots[index] = this.spawn();
      }
    };
    worker.on('error', (err) => fail(`crashed: ${err.message}`));
    worker.on('exit', (code) => {
      if (!this.closed) fail(`exited with code ${code}`);
    });
    return slot;
  }
}

function decodeInline(encoding: Encoding, body: Buffer, pricing: Pricing): Decoded {
  const spans = encoding === 'json' ? decodeTraceRequestJson(body) : decodeTraceRequestProtobuf(body);
  const { records, rejected } = normalizeSpans(spans, pricing);
  return { received: spans.length, records, rejected };
}
