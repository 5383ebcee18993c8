/**
 * Sends the outbox (features/billing/outbox.ts) to Polar's `POST /v1/events/ingest` (docs/contract.md §9) with `fetch`, not the
 * `@polar-sh/sdk` client: measured here, the SDK's request validation costs ~0.8 ms of CPU per event (its
 * metadata union is checked member by member), capping forwarding near 1,000 events/s and taking a third of the
 * collector's ingest CPU; the request is two fields and a JSON body, its shapes are Polar's documented ones
 * (polar-event.ts). Batches of up to FORWARD_BATCH_EVENTS in outbox order, at least once (a batch leaves the
 * outbox only after Polar acknowledged it; Polar dedupes by `external_id`, so a re-send after a crash is counted
 * as a duplicate, not booked twice). 429 and 5xx (and network errors) back off — `Retry-After` when Polar sends
 * one, else exponential from 1 s to 60 s — and retry the same batch; a 422 (Polar refuses the whole batch)
 * parks the events Polar's error locations name, with its reason, and retries the rest; with no usable location
 * the batch is split in halves until the refused events are found. Memory is one batch, whatever the backlog.
 * Each request is one bounded exchange (http/outbound.ts, docs/contract.md §12 v3): POLAR_EXCHANGE_TIMEOUT_MS in all,
 * at most 64 KB of the answer read (a longer 422 is narrowed by halving), no redirect followed (a 3xx is retried
 * slowly, like a refused token: it means COSTTRACE_POLAR_API_URL is wrong).
 */

import {
  MAX_OUTBOUND_RESPONSE_BYTES,
  OUTBOUND_CONNECT_TIMEOUT_MS,
  POLAR_EXCHANGE_TIMEOUT_MS,
} from '../../core/limits.ts';
import type { Database } from '../../db/database.ts';
import { exchange, type OutboundResponse } from '../../http/outbound.ts';
import { type JobTimers, PeriodicJob } from '../../jobs/periodic-job.ts';
import type { IngestQueue } from '../../writer/ingest-queue.ts';
import { markSent, nextQueued, park, type QueuedEvent } from './outbox.ts';
import { polarEvent } from './polar-event.ts';

export const FORWARD_BATCH_EVENTS = 500;
const IDLE_POLL_MS = 500;
const MIN_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 60_000;

export interface ForwarderOptions {
  readonly token: string;
  /** Polar's API base URL (default https://api.polar.sh). */
  readonly apiUrl: string;
  readonly nowMicros: () => bigint;
  readonly log: (message: string) => void;
  /** Counts (Prometheus): events inserted, duplicates, parked; batches to retry. */
  readonly observe: (outcome: 'inserted' | 'duplicate' | 'parked' | 'retry', n: number) => void;
  /** Tests: the clock and timers of the forwarding job. */
  readonly timers?: JobTimers;
}

type Outcome =
  | { readonly kind: 'sent'; readonly inserted: number; readonly duplicates: number }
  | { readonly kind: 'retry'; readonly afterMs: number | null; readonly reason: string }
  | { readonly kind: 'refused'; readonly byIndex: ReadonlyMap<number, string>; readonly reason: string };

/** A step of a forwarding run that failed: logged as `forwarding: <what>: <cause>`, retried after MIN_BACKOFF_MS. */
class ForwardingFailure extends Error {
  constructor(what: string, cause: unknown) {
    super(`${what}: ${(cause as Error).message}`);
  }
}

export class Forwarder {
  private readonly endpoint: string;
  private backoffMs = 0;
  /** One run: one batch read and delivered; an empty outbox waits IDLE_POLL_MS, a failure MIN_BACKOFF_MS. */
  private readonly job: PeriodicJob<number>;

  constructor(
    private readonly db: Database,
    private readonly queue: IngestQueue,
    private readonly options: ForwarderOptions,
  ) {
    this.endpoint = `${options.apiUrl.replace(/\/+$/, '')}/v1/events/ingest`;
    this.job = new PeriodicJob({
      run: () => this.forwardBatch(),
      periodMs: IDLE_POLL_MS,
      nextDelayMs: (read) => (read === 0 ? IDLE_POLL_MS : 0),
      backoff: { initialMs: MIN_BACKOFF_MS, maxMs: MIN_BACKOFF_MS },
      runOnStart: true,
      whenStopped: () => 0,
      log: (_message, err) => options.log(`forwarding: ${(err as Error).message}`),
      failureMessage: 'forwarding failed',
      ...(options.timers ? { timers: options.timers } : {}),
    });
  }

  start(): void {
    this.job.start();
  }

  /** A hanging Polar does not hold up shutdown: the request is aborted, the batch stays in the outbox. */
  stop(): Promise<void> {
    return this.job.stop();
  }

  /** Reads one batch and delivers it; resolves with the events read (0: the outbox was empty). */
  private async forwardBatch(): Promise<number> {
    let batch: QueuedEvent[];
    try {
      batch = await this.db.read((conn) => nextQueued(conn, FORWARD_BATCH_EVENTS));
    } catch (err) {
      throw new ForwardingFailure('reading the outbox failed', err);
    }
    if (batch.length === 0) return 0;
    try {
      await this.deliver(batch);
    } catch (err) {
      // The store failed to record an outcome: the batch stays in the outbox and is sent again (Polar dedupes).
      throw new ForwardingFailure('recording a delivery failed', err);
    }
    return batch.length;
  }

  /** Sends `batch` until every event in it is sent or parked (or the forwarder stops). */
  private async deliver(batch: readonly QueuedEvent[]): Promise<void> {
    const pending: QueuedEvent[][] = [[...batch]];
    while (pending.length > 0 && !this.job.stopping) {
      const events = pending[pending.length - 1] as QueuedEvent[];
      const outcome = await this.send(events);
      if (outcome.kind === 'retry') {
        this.options.observe('retry', 1);
        this.backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(MIN_BACKOFF_MS, this.backoffMs * 2));
        const wait = outcome.afterMs ?? this.backoffMs;
        this.options.log(`forwarding: ${outcome.reason}; retrying in ${Math.round(wait / 1000)} s`);
        await this.job.sleep(wait);
        continue;
      }
      this.backoffMs = 0;
      pending.pop();
      if (outcome.kind === 'sent') {
        await this.queue.exclusive((conn) =>
          markSent(
            conn,
            events.map((e) => e.seq),
          ),
        );
        this.options.observe('inserted', outcome.inserted);
        this.options.observe('duplicate', outcome.duplicates);
        continue;
      }
      // Refused: park what Polar named, send the rest again; with nothing named, split to find it.
      if (outcome.byIndex.size > 0) {
        const rest: QueuedEvent[] = [];
        for (const [i, e] of events.entries()) {
          const reason = outcome.byIndex.get(i);
          if (reason === undefined) rest.push(e);
          else await this.park(e, reason);
        }
        if (rest.length > 0) pending.push(rest);
      } else if (events.length === 1) {
        await this.park(events[0] as QueuedEvent, outcome.reason);
      } else {
        const half = Math.ceil(events.length / 2);
        pending.push(events.slice(half), events.slice(0, half));
      }
    }
  }

  private async park(e: QueuedEvent, reason: string): Promise<void> {
    this.options.observe('parked', 1);
    await this.queue.exclusive((conn) => park(conn, e.seq, reason, this.options.nowMicros()));
  }

  private async send(events: readonly QueuedEvent[]): Promise<Outcome> {
    const now = Number(this.options.nowMicros() / 1000n);
    let res: OutboundResponse;
    try {
      res = await exchange({
        url: this.endpoint,
        method: 'POST',
        headers: { authorization: `Bearer ${this.options.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events: events.map((e) => polarEvent(e, now)) }),
        timeoutMs: POLAR_EXCHANGE_TIMEOUT_MS,
        connectTimeoutMs: OUTBOUND_CONNECT_TIMEOUT_MS,
        maxResponseBytes: MAX_OUTBOUND_RESPONSE_BYTES,
        signal: this.job.signal,
      });
    } catch (err) {
      return { kind: 'retry', afterMs: null, reason: `sending failed: ${(err as Error).message}` };
    }
    if (res.truncated) {
      this.options.log(
        `forwarding: Polar's ${res.status} answer is over ${MAX_OUTBOUND_RESPONSE_BYTES} bytes; read no more`,
      );
    }
    return classify(res.status, header(res.headers['retry-after']), res.body.toString('utf8'), now);
  }
}

function parse(text: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const header = (v: string | string[] | undefined): string | null => (Array.isArray(v) ? (v[0] ?? null) : (v ?? null));

/** `nowMs`: the clock when the answer came (an HTTP-date Retry-After counts from it). */
function classify(status: number, retryAfter: string | null, text: string, nowMs: number): Outcome {
  const body = parse(text);
  if (status >= 200 && status < 300) {
    return { kind: 'sent', inserted: Number(body?.inserted ?? 0), duplicates: Number(body?.duplicates ?? 0) };
  }
  if (status === 422) {
    const byIndex = new Map<number, string>();
    const detail = Array.isArray(body?.detail) ? (body.detail as Array<{ loc?: unknown; msg?: unknown }>) : [];
    for (const d of detail) {
      if (!Array.isArray(d.loc)) continue;
      // Polar locates each problem at ["body", "events", i, ...].
      const i = d.loc[0] === 'body' && d.loc[1] === 'events' ? d.loc[2] : undefined;
      if (typeof i === 'number') {
        const before = byIndex.get(i);
        const text = `${d.loc.slice(3).join('.') || 'event'}: ${String(d.msg)}`;
        byIndex.set(i, before === undefined ? text : `${before}; ${text}`);
      }
    }
    return { kind: 'refused', byIndex, reason: `Polar refused the batch (422): ${text.slice(0, 300)}` };
  }
  if (status === 429 || status >= 500 || status === 408) {
    return { kind: 'retry', afterMs: retryAfterMs(retryAfter, nowMs), reason: `Polar answered ${status}` };
  }
  if (status >= 300 && status < 400) {
    const reason = `Polar answered a redirect (${status}), which is not followed: check COSTTRACE_POLAR_API_URL`;
    return { kind: 'retry', afterMs: MAX_BACKOFF_MS, reason };
  }
  if (status === 401 || status === 403) {
    const reason = `Polar refused the token (${status}): check COSTTRACE_POLAR_TOKEN`;
    return { kind: 'retry', afterMs: MAX_BACKOFF_MS, reason };
  }
  return { kind: 'refused', byIndex: new Map(), reason: `Polar answered ${status}: ${text.slice(0, 300)}` };
}

/** `Retry-After` as seconds or an HTTP date, in ms (null when absent or unreadable), at most a minute. */
export function retryAfterMs(header: string | null, nowMs = Date.now()): number | null {
  if (header === null || header.trim() === '') return null;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - nowMs;
  if (!Number.isFinite(ms)) return null;
  return Math.min(MAX_BACKOFF_MS, Math.max(0, ms));
}
