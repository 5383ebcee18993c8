/**
 * Group commit: requests hand their validated spans (or events) to `submit`/`submitEvents`, which resolve
 * only once those records are committed in DuckDB (so a 2xx means durable). Whatever queued while a commit
 * ran goes into the next one, so many small requests share one transaction — DuckDB's Appender wants large
 * batches. Span batches and event batches are grouped alike (consecutive requests of one kind per commit).
 *
 * Isolation: when a shared transaction fails, its requests are retried one by one, so one request whose
 * data the store refuses fails alone (400, permanent) and every other request commits. Retrying each
 * request on its own is simpler than bisecting and costs only on the rare failure path.
 *
 * Backpressure instead of unbounded memory: past `maxQueuedRecords` new work is refused (429); a failing
 * store refuses work as unavailable (503). Both are retryable for clients. Engine error text never leaves
 * the process: it is logged, and clients get a stable message.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { SpanRecord } from '../../src/records.ts';
import { CollectorError } from '../core/errors.ts';
import type { Database } from '../db/database.ts';
import { isDataRefusal } from '../db/store-errors.ts';
import type { EventInput } from '../events/validate.ts';
import type { AttributionState } from './attribution-state.ts';
import type { CustomerRegistry } from './customers.ts';
import { type EventsWritten, writeEventRequests } from './event-writes.ts';
import { LlmCalls } from './llm-calls.ts';
import { ProjectionFault, type Projections } from './projection.ts';
import { removeOldSpans } from './retention-writes.ts';
import { lookupSettled, writeSpanBatch } from './span-writes.ts';

export class OverloadedError extends CollectorError {
  override readonly name = 'OverloadedError';
  constructor(retryAfterSeconds: number, message = 'ingest queue is full (records waiting for commit); retry later') {
    super('overloaded', message, retryAfterSeconds);
  }
}

export class UnavailableError extends CollectorError {
  override readonly name = 'UnavailableError';
  constructor(message: string, retryAfterSeconds: number) {
    super('unavailable', message, retryAfterSeconds);
  }
}

/** The store refused this request's own data (e.g. a value it cannot hold): permanent, the client's to fix. */
export class DataRefusedError extends CollectorError {
  override readonly name = 'DataRefusedError';
  constructor() {
    super('refused', "the store refused this request's data (store_refused); nothing from it was stored");
  }
}

export interface QueueObserver {
  committed(kind: 'spans' | 'events', records: number, inserted: number, seconds: number): void;
  failed(): void;
  refused(): void;
}

/** Where engine errors go (never to clients). */
export type StoreErrorLog = (message: string, err: unknown) => void;

interface Waiting<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (e: Error) => void;
}

interface SpanItem extends Waiting<void> {
  readonly kind: 'spans';
  readonly records: readonly SpanRecord[];
}

interface EventItem extends Waiting<EventsWritten> {
  readonly kind: 'events';
  readonly records: readonly EventInput[];
  readonly ingestedAtMicros: bigint;
}

/** What a job on the writer gets: its connection, the customer registry and the projections (writer/projection.ts). */
export type WriterJob<T> = (
  conn: DuckDBConnection,
  customers: CustomerRegistry,
  projections: Projections,
) => Promise<T>;

/** Other writes (customer upserts) run one at a time on the writer connection, in order. */
interface JobItem {
  readonly kind: 'job';
  readonly run: WriterJob<void>;
  readonly reject: (e: Error) => void;
}

type Item = SpanItem | EventItem | JobItem;

export interface IngestQueueOptions {
  /** Records (spans and events) queued for commit before new requests get 429. */
  readonly maxQueuedRecords: number;
  /** Records per DuckDB transaction (group commit). */
  readonly maxBatchRecords: number;
  /** Injected clock (µs since epoch) for `ingested_at`. */
  readonly nowMicros: () => bigint;
  readonly log?: StoreErrorLog;
}

export class IngestQueue {
  private queue: Item[] = [];
  private queuedRecords = 0;
  private running: Promise<void> | null = null;
  private closed = false;
  private consecutiveFailures = 0;
  private readonly log: StoreErrorLog;
  /** Which LLM spans repeat another span's call (counted once: llm-calls.ts). */
  private readonly calls = new LlmCalls();

  constructor(
    private readonly db: Database,
    private readonly attribution: AttributionState,
    private readonly customers: CustomerRegistry,
    /** The derived tables every write keeps in step (registered by wiring). */
    private readonly projections: Projections,
    private readonly options: IngestQueueOptions,
    private readonly observer: QueueObserver,
  ) {
    this.log =
      options.log ??
      ((message, err) =>
        process.stderr.write(`costtrace: ${message}: ${err instanceof Error ? err.message : String(err)}\n`));
  }

  get depth(): number {
    return this.queuedRecords;
  }

  /** Spans whose customer waits for an ancestor not received yet. */
  get pendingAttribution(): number {
    return this.attribution.pendingSpans;
  }

  /** True while the last commit succeeded (or none was tried). */
  get healthy(): boolean {
    return !this.closed && this.consecutiveFailures === 0;
  }

  /** Refuses early (before a body is read) when the queue is already full. */
  checkCapacity(): void {
    if (this.closed) throw new UnavailableError('collector is shutting down', 1);
    if (this.queuedRecords >= this.options.maxQueuedRecords) throw new OverloadedError(1);
  }

  /** Resolves once `records` are committed; re-sent spans (same trace and span id) are stored once. */
  submit(records: readonly SpanRecord[]): Promise<void> {
    if (records.length === 0) return this.closed ? shuttingDown() : Promise.resolve();
    return this.enqueue<void>((waiting) => ({ kind: 'spans', records, ...waiting }), records.length);
  }

  /** Resolves with what was new once the events are committed (deduplicated on their ids). */
  submitEvents(records: readonly EventInput[], ingestedAtMicros: bigint): Promise<EventsWritten> {
    if (records.length === 0) return this.closed ? shuttingDown() : Promise.resolve({ inserted: 0, duplicates: 0 });
    return this.enqueue<EventsWritten>(
      (waiting) => ({ kind: 'events', records, ingestedAtMicros, ...waiting }),
      records.length,
    );
  }

  /**
   * Runs `job` on the writer connection when its turn comes (after what is already queued). A failing job
   * rejects the returned promise (400 when the store refused its data, else 503, retryable).
   */
  exclusive<T>(job: WriterJob<T>): Promise<T> {
    if (this.closed) return shuttingDown();
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        kind: 'job',
        run: async (conn, customers, projections) => resolve(await job(conn, customers, projections)),
        reject,
      });
      if (!this.running) this.running = this.pump();
    });
  }

  /**
   * Retention: removes spans that started before the cutoff, one batch per writer turn (ingest interleaves
   * between batches), until none is left; returns how many were removed.
   */
  async removeSpansBefore(cutoffMicros: bigint): Promise<number> {
    let removed = 0;
    for (;;) {
      const n = await this.exclusive((conn, _customers, projections) =>
        removeOldSpans(
          conn,
          projections,
          cutoffMicros,
          (cutoff) => this.attribution.settleBefore(cutoff),
          this.options.nowMicros(),
        ),
      );
      removed += n;
      if (n === 0) return removed;
    }
  }

  /** Stops taking work and waits for everything queued to be committed. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running) await this.running;
  }

  private enqueue<T>(make: (waiting: Waiting<T>) => Item, count: number): Promise<T> {
    if (this.closed) return shuttingDown();
    if (this.queuedRecords > 0 && this.queuedRecords + count > this.options.maxQueuedRecords) {
      return Promise.reject(new OverloadedError(1));
    }
    return new Promise<T>((resolve, reject) => {
      this.queue.push(make({ resolve, reject }));
      this.queuedRecords += count;
      if (!this.running) this.running = this.pump();
    });
  }

  private async pump(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0] as Item;
        if (head.kind === 'job') {
          this.queue.shift();
          await head.run(this.db.writer, this.customers, this.projections).then(
            () => this.succeeded(),
            (err: unknown) => head.reject(this.failureOf(err)),
          );
          continue;
        }
        const batch = this.takeBatch(head.kind);
        const count = batch.reduce((n, i) => n + i.records.length, 0);
        try {
          if (head.kind === 'spans') await this.commitIsolated(batch as SpanItem[], (items) => this.writeSpans(items));
          else await this.commitIsolated(batch as EventItem[], (items) => this.writeEvents(items));
        } finally {
          this.queuedRecords -= count;
        }
      }
    } finally {
      this.running = null;
    }
  }

  /**
   * Items of one kind from the queue's head up to the next job, at most `maxBatchRecords` records (at least
   * one item). Spans and events are independent records, so taking one kind past the other keeps both
   * grouped when clients interleave them; jobs (customer upserts) stay ordered against both.
   */
  private takeBatch(kind: 'spans' | 'events'): Array<SpanItem | EventItem> {
    const batch: Array<SpanItem | EventItem> = [];
    const rest: Item[] = [];
    let records = 0;
    let i = 0;
    for (; i < this.queue.length; i++) {
      const next = this.queue[i] as Item;
      if (next.kind === 'job') break;
      if (next.kind !== kind) {
        rest.push(next);
        continue;
      }
      if (batch.length > 0 && records + next.records.length > this.options.maxBatchRecords) break;
      batch.push(next);
      records += next.records.length;
    }
    this.queue = [...rest, ...this.queue.slice(i)];
    return batch;
  }

  /** Writes `items` in one transaction; if that fails, each on its own, so a bad one fails alone. */
  private async commitIsolated<I extends SpanItem | EventItem>(
    items: I[],
    write: (items: I[]) => Promise<void>,
  ): Promise<void> {
    try {
      await this.writeMending(items, write);
      return;
    } catch (err) {
      if (items.length === 1) {
        (items[0] as I).reject(this.failureOf(err));
        return;
      }
      this.log(`a group commit of ${items.length} requests failed; retrying them one by one`, err);
    }
    for (const item of items) {
      try {
        await this.writeMending([item], write);
      } catch (err) {
        item.reject(this.failureOf(err));
      }
    }
  }

  /**
   * A projection's fault never stops writes (docs/contract.md §12: a meter definition the engine cannot evaluate):
   * the projections mend what they can (the meters that fail the probe are disabled: logged, counted, shown in their
   * GET) and the write runs again; a fault none mends fails the write with the engine's own error.
   */
  private async writeMending<I>(items: I[], write: (items: I[]) => Promise<void>): Promise<void> {
    try {
      await write(items);
    } catch (err) {
      if (!(err instanceof ProjectionFault)) throw err;
      if (!(await this.projections.mend(this.db.writer, err, this.options.nowMicros()))) throw err.engineError;
      await write(items);
    }
  }

  private async writeSpans(items: SpanItem[]): Promise<void> {
    const received = items.length === 1 ? (items[0] as SpanItem).records : items.flatMap((i) => i.records);
    const started = process.hrtime.bigint();
    const calls = this.calls.plan(received);
    const records = calls.records;
    const plan = await this.attribution.plan(records, (keys) => lookupSettled(this.db.writer, keys));
    const written = await writeSpanBatch(
      this.db.writer,
      this.projections,
      plan.spans,
      plan.updates,
      this.options.nowMicros(),
      this.customers,
      () => {
        this.attribution.apply(plan);
        this.calls.apply(calls);
      },
    );
    this.succeeded();
    this.observer.committed('spans', records.length, written.inserted, Number(process.hrtime.bigint() - started) / 1e9);
    for (const item of items) item.resolve();
  }

  private async writeEvents(items: EventItem[]): Promise<void> {
    const started = process.hrtime.bigint();
    const results = await writeEventRequests(
      this.db.writer,
      this.projections,
      this.customers,
      items.map((i) => i.records),
      (items[0] as EventItem).ingestedAtMicros,
    );
    this.succeeded();
    const records = items.reduce((n, i) => n + i.records.length, 0);
    const inserted = results.reduce((n, r) => n + r.inserted, 0);
    this.observer.committed('events', records, inserted, Number(process.hrtime.bigint() - started) / 1e9);
    items.forEach((item, i) => {
      item.resolve(results[i] as EventsWritten);
    });
  }

  private succeeded(): void {
    this.consecutiveFailures = 0;
  }

  /** The client-facing error for a failed write; the engine's text goes to the log only. */
  private failureOf(err: unknown): Error {
    if (isDataRefusal(err)) {
      this.observer.refused();
      this.log("the store refused a request's data (answered 400)", err);
      return new DataRefusedError();
    }
    this.consecutiveFailures++;
    this.observer.failed();
    this.log('store write failed (answered 503)', err);
    return new UnavailableError('store write failed; retry later', 2);
  }
}

function shuttingDown<T>(): Promise<T> {
  return Promise.reject(new UnavailableError('collector is shutting down', 1));
}
