/**
 * Group commit: requests hand their validated spans to `submit`, which resolves only once those spans
 * are committed in DuckDB (so a 2xx means durable). Whatever queued while a commit ran goes into the
 * next one, so many small requests share one transaction — DuckDB's Appender wants large batches.
 *
 * Backpressure instead of unbounded memory: past `maxQueuedSpans` new work is refused (429); a failing
 * store refuses work as unavailable (503). Both are retryable for OTLP clients.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { SpanRecord } from '../../src/records.ts';
import type { AttributionState } from './attribution-state.ts';
import type { CustomerRegistry } from './customers.ts';
import type { Database } from './database.ts';
import { lookupSettled, writeSpanBatch } from './span-writes.ts';

export class OverloadedError extends Error {
  override readonly name = 'OverloadedError';
  constructor(readonly retryAfterSeconds: number) {
    super('ingest queue is full, retry later');
  }
}

export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

export interface QueueObserver {
  committed(spans: number, inserted: number, seconds: number): void;
  failed(): void;
}

interface SpanItem {
  readonly kind: 'spans';
  readonly records: readonly SpanRecord[];
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/** Other writes (events, customer upserts) run one at a time on the writer connection, in order. */
interface JobItem {
  readonly kind: 'job';
  readonly run: (conn: DuckDBConnection, customers: CustomerRegistry) => Promise<void>;
  readonly reject: (e: Error) => void;
}

type Item = SpanItem | JobItem;

export interface IngestQueueOptions {
  readonly maxQueuedSpans: number;
  readonly maxBatchSpans: number;
  /** Injected clock (µs since epoch) for `ingested_at`. */
  readonly nowMicros: () => bigint;
}

export class IngestQueue {
  private queue: Item[] = [];
  private queuedSpans = 0;
  private running: Promise<void> | null = null;
  private closed = false;
  private consecutiveFailures = 0;

  constructor(
    private readonly db: Database,
    private readonly attribution: AttributionState,
    private readonly customers: CustomerRegistry,
    private readonly options: IngestQueueOptions,
    private readonly observer: QueueObserver,
  ) {}

  get depth(): number {
    return this.queuedSpans;
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
    if (this.queuedSpans >= this.options.maxQueuedSpans) throw new OverloadedError(1);
  }

  /** Resolves once `records` are committed; re-sent spans (same trace and span id) are stored once. */
  submit(records: readonly SpanRecord[]): Promise<void> {
    if (this.closed) return Promise.reject(new UnavailableError('collector is shutting down', 1));
    if (records.length === 0) return Promise.resolve();
    if (this.queuedSpans > 0 && this.queuedSpans + records.length > this.options.maxQueuedSpans) {
      return Promise.reject(new OverloadedError(1));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'spans', records, resolve, reject });
      this.queuedSpans += records.length;
      if (!this.running) this.running = this.pump();
    });
  }

  /**
   * Runs `job` on the writer connection when its turn comes (after what is already queued). A failing job
   * rejects the returned promise with UnavailableError (503, retryable); the queue carries on.
   */
  exclusive<T>(job: (conn: DuckDBConnection, customers: CustomerRegistry) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new UnavailableError('collector is shutting down', 1));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        kind: 'job',
        run: async (conn, customers) => resolve(await job(conn, customers)),
        reject,
      });
      if (!this.running) this.running = this.pump();
    });
  }

  /** Stops taking work and waits for everything queued to be committed. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running) await this.running;
  }

  private async pump(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0] as Item;
        if (head.kind === 'job') {
          this.queue.shift();
          // A store failure is the server's, and retryable: ids make re-sent writes idempotent.
          await head.run(this.db.writer, this.customers).catch((err: unknown) => {
            this.observer.failed();
            head.reject(
              new UnavailableError(`store write failed: ${err instanceof Error ? err.message : String(err)}`, 2),
            );
          });
          continue;
        }
        await this.commit(this.takeBatch());
      }
    } finally {
      this.running = null;
    }
  }

  private takeBatch(): SpanItem[] {
    const batch: SpanItem[] = [];
    let spans = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as Item;
      if (next.kind === 'job') break;
      if (batch.length > 0 && spans + next.records.length > this.options.maxBatchSpans) break;
      batch.push(next);
      spans += next.records.length;
      this.queue.shift();
    }
    return batch;
  }

  private async commit(batch: SpanItem[]): Promise<void> {
    const records = batch.flatMap((i) => i.records);
    const started = process.hrtime.bigint();
    try {
      const plan = await this.attribution.plan(records, (keys) => lookupSettled(this.db.writer, keys));
      const written = await writeSpanBatch(
        this.db.writer,
        plan.spans,
        plan.updates,
        this.options.nowMicros(),
        this.customers,
      );
      this.attribution.apply(plan);
      this.customers.apply(written.customers);
      const inserted = written.inserted;
      this.consecutiveFailures = 0;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.observer.committed(records.length, inserted, seconds);
      for (const item of batch) item.resolve();
    } catch (err) {
      this.consecutiveFailures++;
      this.observer.failed();
      const reason = err instanceof Error ? err.message : String(err);
      for (const item of batch) item.reject(new UnavailableError(`store write failed: ${reason}`, 2));
    } finally {
      this.queuedSpans -= records.length;
    }
  }
}
