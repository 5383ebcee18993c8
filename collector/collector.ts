/**
 * Wires the collector's parts together: DuckDB file → attribution state (pending spans reloaded) →
 * ingest queue → decoders → price book → HTTP app → the background jobs (jobs/periodic-job.ts), started in order.
 * `close()` stops them in reverse order, drains in-flight batches and closes DuckDB cleanly; a start-up that fails
 * part-way closes what it opened, in reverse order, before the error reaches the caller.
 */
import type { FastifyInstance } from 'fastify';
import { type AppConfig, buildApp, type ResponseCheck } from './app.ts';
import { DEFAULT_UPLOAD_BUDGET_BYTES } from './core/limits.ts';
import { CollectorMetrics } from './core/observability.ts';
import { type Database, openDatabase } from './db/database.ts';
import { Forwarder } from './features/billing/forwarder.ts';
import { AlertSender } from './features/budgets/alert-sender.ts';
import { loadBudgetBook } from './features/budgets/budgets.ts';
import type { HostResolver, WebhookPolicy } from './features/budgets/webhook-address.ts';
import type { InsightIndex } from './features/insights/insight-index.ts';
import { type IndexTally, InsightIndexer } from './features/insights/insight-indexer.ts';
import { MeterBackfiller } from './features/meters/meter-backfill.ts';
import { type AllocationTally, allocationJob, emptyAllocationTally } from './features/prices/allocator.ts';
import { Prices } from './features/prices/service.ts';
import { retentionJob } from './features/retention/retention.ts';
import { systemResolver } from './http/outbound.ts';
import { writerProjections } from './projections.ts';
import { DecodePool, defaultDecodeWorkers } from './receiver/decode-pool.ts';
import { createStore } from './store.ts';
import { AttributionState } from './writer/attribution-state.ts';
import { CustomerRegistry } from './writer/customers.ts';
import { IngestQueue, type IngestQueueOptions } from './writer/ingest-queue.ts';
import { loadPending, prepareWriter } from './writer/span-writes.ts';

export interface CollectorOptions {
  readonly dbPath: string;
  readonly maxBodyBytes: number;
  readonly ingestTokens: readonly string[];
  readonly readTokens: readonly string[];
  readonly adminTokens?: readonly string[];
  /** COSTTRACE_ALLOWED_HOSTS: Host names served besides loopback (the DNS-rebinding check, http/auth.ts). */
  readonly allowedHosts?: readonly string[];
  /** COSTTRACE_SNAPSHOT_DIR: snapshots are written only inside this folder. */
  readonly snapshotDir?: string;
  readonly logLevel?: string;
  /** Records (spans, events) queued for commit before new requests get 429. */
  readonly maxQueuedRecords?: number;
  /** Records per DuckDB transaction (group commit). */
  readonly maxBatchRecords?: number;
  /** DuckDB memory_limit, e.g. "2GB" (default DEFAULT_DUCKDB_MEMORY_LIMIT). */
  readonly duckdbMemoryLimit?: string;
  /** Request body bytes held in memory by all uploads together (default DEFAULT_UPLOAD_BUDGET_BYTES); past it, 429. */
  readonly uploadBudgetBytes?: number;
  /** Request body bytes of signed webhooks held at once, apart from the above (default WEBHOOK_UPLOAD_BUDGET_BYTES). */
  readonly webhookUploadBudgetBytes?: number;
  /** A body sending nothing for this long is answered 408 (default 10 s). */
  readonly bodyIdleTimeoutMs?: number;
  /** Worker threads decoding large OTLP requests (0 = decode on the main thread). Default: cores − 1. */
  readonly decodeWorkers?: number;
  /** Stored records a new meter measures per writer turn (features/meters/meter-backfill.ts). */
  readonly meterBackfillChunkRecords?: number;
  /** Raw spans older than this many days are removed in the background (0, the default, keeps all). */
  readonly retainSpansDays?: number;
  /** How often the retention job runs (default once a minute). */
  readonly retentionIntervalMs?: number;
  /** How often ended days and months are indexed for insights (default once a minute; features/insights/insight-indexer.ts). */
  readonly insightIndexIntervalMs?: number;
  /** How often closed days are checked for fixed bills to allocate (default once a minute). */
  readonly allocationIntervalMs?: number;
  /** Tests: checks every JSON response against its route's response schema. */
  readonly checkResponse?: ResponseCheck;
  /** Clock, µs since epoch (tests pin it). */
  readonly nowMicros?: () => bigint;
  /** A price book file (JSON, docs/contract.md §8) to price spans with; replaceable later through PUT /v1/prices. */
  readonly pricesFile?: string;
  /** The billing bridge (docs/contract.md §9): webhook secrets and forwarding to Polar. */
  readonly billing?: BillingOptions;
  /**
   * Budget alerts (docs/contract.md §11): default receiver URL and Standard Webhooks secret (`whsec_…`);
   * `allowPrivateWebhooks` (COSTTRACE_ALLOW_PRIVATE_WEBHOOKS) lets per-budget URLs reach loopback and private
   * addresses (never metadata or link-local ones: docs/contract.md §12 v3).
   */
  readonly alerts?: { readonly url?: string; readonly secret?: string; readonly allowPrivateWebhooks?: boolean };
  /** How per-budget webhook hosts are resolved for the address policy (tests inject one; default `dns.lookup`). */
  readonly resolveHost?: HostResolver;
}

export interface BillingOptions {
  readonly polarWebhookSecret?: string;
  readonly stripeWebhookSecret?: string;
  /** Forward attributed costs to Polar's events API with this organization access token. */
  readonly polarToken?: string;
  /** Default https://api.polar.sh. */
  readonly polarApiUrl?: string;
}

export const DEFAULT_POLAR_API_URL = 'https://api.polar.sh';

export interface Collector {
  readonly app: FastifyInstance;
  readonly db: Database;
  readonly queue: IngestQueue;
  readonly decoder: DecodePool;
  /** Runs retention now (cutoff: now − retainSpansDays); resolves with the spans removed. 0 when it is off. */
  runRetention(): Promise<number>;
  /** Allocates fixed bills over the closed days not allocated yet (also runs on start and every interval). */
  runAllocation(): Promise<AllocationTally>;
  /** Indexes the ended days and months not indexed yet for insights (also runs on start and every interval). */
  indexInsights(): Promise<IndexTally>;
  close(): Promise<void>;
}

const RECENT_SPANS_REMEMBERED = 200_000;
const PENDING_SPANS_REMEMBERED = 200_000;

/** A background job as wiring sees it (jobs/periodic-job.ts): `stop()` is safe before `start()` and twice. */
interface Job {
  start(): void;
  stop(): Promise<void>;
}

export async function openCollector(options: CollectorOptions): Promise<Collector> {
  const nowMicros = options.nowMicros ?? (() => BigInt(Date.now()) * 1000n);
  const log = new LateLog();
  const opened = new Opened();
  try {
    const db = opened.add(await openDatabase(options.dbPath, options.duckdbMemoryLimit));
    await prepareWriter(db.writer);
    const metrics = new CollectorMetrics();
    const attribution = new AttributionState(RECENT_SPANS_REMEMBERED, PENDING_SPANS_REMEMBERED);
    attribution.loadPending(await loadPending(db.writer, PENDING_SPANS_REMEMBERED));
    const customers = await CustomerRegistry.load(db.writer);
    const forwardCosts = Boolean(options.billing?.polarToken);
    const writer = writerProjections({
      forwarding: forwardCosts,
      metersDisabled: (ids, err) => {
        log.error(`meters ${ids.join(', ')} could not be evaluated on a write: disabled`, err);
        metrics.metersDisabledOnWrite(ids.length);
      },
    });
    const queue = opened.add(
      new IngestQueue(db, attribution, customers, writer.projections, queueOptions(options, nowMicros, log), metrics),
    );
    const decoder = opened.add(new DecodePool(options.decodeWorkers ?? defaultDecodeWorkers()));
    const prices = await Prices.open(db, queue, decoder, nowMicros, options.pricesFile, options.retainSpansDays ?? 0);
    const meterBackfill = new MeterBackfiller(queue, writer.meters, log.error, options.meterBackfillChunkRecords);
    const webhookPolicy: WebhookPolicy = {
      allowPrivate: options.alerts?.allowPrivateWebhooks === true,
      resolve: options.resolveHost ?? systemResolver,
    };
    const app = opened.add(
      await buildApp(appConfig(options), {
        store: createStore(db, queue, writer),
        queue,
        metrics,
        nowMicros,
        decoder,
        prices,
        meterBackfill,
        webhookPolicy,
        webhookSecrets: {
          ...(options.billing?.polarWebhookSecret ? { polar: options.billing.polarWebhookSecret } : {}),
          ...(options.billing?.stripeWebhookSecret ? { stripe: options.billing.stripeWebhookSecret } : {}),
        },
        forwarding: forwardCosts,
        ...(options.checkResponse ? { checkResponse: options.checkResponse } : {}),
      }),
      (a) => a.close(),
    );
    log.attach(app);
    await loadBudgetBook(db.writer, writer.budgets);
    const disabledMeters = await writer.meters.load(db.writer, nowMicros());
    for (const id of disabledMeters) log.error(`meter ${id} cannot be evaluated by the store: disabled`);
    metrics.metersDisabled.inc(disabledMeters.length);
    await writer.insightIndex.load(db.writer);
    const { forwarder, indexer, alertSender, retention, allocation } = backgroundJobs(options, {
      db,
      queue,
      insightIndex: writer.insightIndex,
      prices,
      metrics,
      nowMicros,
      log,
      webhookPolicy,
    });
    const jobs: Array<Job | null> = [forwarder, meterBackfill, indexer, alertSender, retention, allocation];
    for (const job of jobs) if (job) opened.add(job, (j) => j.stop()).start(); // stopped in reverse by close()
    let closing: Promise<void> | null = null;
    return {
      app,
      db,
      queue,
      decoder,
      runRetention: () => (retention === null || closing ? Promise.resolve(0) : retention.runOnce()),
      runAllocation: () => (closing ? Promise.resolve(emptyAllocationTally()) : allocation.runOnce()),
      indexInsights: () => indexer.run(),
      close: () => (closing ??= opened.closeAll()),
    };
  } catch (err) {
    await opened.closeAll().catch((closeErr: unknown) => log.error('closing after a failed start-up failed', closeErr));
    throw err;
  }
}

interface JobParts {
  readonly db: Database;
  readonly queue: IngestQueue;
  readonly insightIndex: InsightIndex;
  readonly prices: Prices;
  readonly metrics: CollectorMetrics;
  readonly nowMicros: () => bigint;
  readonly log: LateLog;
  readonly webhookPolicy: WebhookPolicy;
}

function queueOptions(options: CollectorOptions, nowMicros: () => bigint, log: LateLog): IngestQueueOptions {
  return {
    maxQueuedRecords: options.maxQueuedRecords ?? 200_000,
    maxBatchRecords: options.maxBatchRecords ?? 20_000,
    nowMicros,
    log: log.error,
  };
}

/** The background jobs besides the meter backfill (the app holds that one), constructed, not started. */
function backgroundJobs(
  options: CollectorOptions,
  { db, queue, insightIndex, prices, metrics, nowMicros, log, webhookPolicy }: JobParts,
) {
  const polarToken = options.billing?.polarToken;
  const forwarder = polarToken
    ? new Forwarder(db, queue, {
        token: polarToken,
        apiUrl: options.billing?.polarApiUrl ?? DEFAULT_POLAR_API_URL,
        nowMicros,
        log: log.warn,
        observe: (outcome, n) => metrics.forwarded.inc({ outcome }, n),
      })
    : null;
  const indexer = new InsightIndexer(
    queue,
    insightIndex,
    nowMicros,
    log.error,
    {
      pending: (n) => metrics.insightIndexPending.set(n),
      indexed: (kind, n) => metrics.insightIndexed.inc({ kind }, n),
    },
    options.insightIndexIntervalMs,
  );
  const alertSender = new AlertSender(db, queue, {
    ...(options.alerts?.url ? { url: options.alerts.url } : {}),
    ...(options.alerts?.secret ? { secret: options.alerts.secret } : {}),
    policy: webhookPolicy,
    nowMicros,
    log: log.warn,
    observe: (outcome) => metrics.alerts.inc({ outcome }),
  });
  const retainSpansDays = options.retainSpansDays ?? 0;
  const retention =
    retainSpansDays > 0
      ? retentionJob({
          removeSpansBefore: (cutoff) => queue.removeSpansBefore(cutoff),
          nowMicros,
          retainSpansDays,
          log: log.error,
          ...(options.retentionIntervalMs ? { periodMs: options.retentionIntervalMs } : {}),
        })
      : null;
  const allocation = allocationJob(prices.allocator, {
    ...(options.allocationIntervalMs ? { periodMs: options.allocationIntervalMs } : {}),
    warn: log.warn,
    log: log.error,
  });
  return { forwarder, indexer, alertSender, retention, allocation };
}

/** What `openCollector` opened; `closeAll` closes it in reverse order, every part even when one fails. */
class Opened {
  private readonly closers: Array<() => Promise<void>> = [];

  add<T extends { close(): Promise<void> }>(part: T): T;
  add<T>(part: T, close: (part: T) => Promise<void>): T;
  add<T>(part: T, close?: (part: T) => Promise<void>): T {
    this.closers.push(() => (close ? close(part) : (part as { close(): Promise<void> }).close()));
    return part;
  }

  /** Rejects with the first failure once every part was closed. */
  async closeAll(): Promise<void> {
    let failure: { err: unknown } | null = null;
    for (let close = this.closers.pop(); close; close = this.closers.pop()) {
      try {
        await close();
      } catch (err) {
        failure ??= { err };
      }
    }
    if (failure) throw failure.err;
  }
}

/** The app's logger once it is built; before it, the console (a start-up that fails logs there). */
class LateLog {
  private app: FastifyInstance | null = null;

  attach(app: FastifyInstance): void {
    this.app = app;
  }

  readonly error = (message: string, err?: unknown): void => {
    if (this.app) this.app.log.error({ err }, message);
    else console.error(`costtrace: ${message}`, err ?? '');
  };

  readonly warn = (message: string): void => {
    if (this.app) this.app.log.warn(message);
    else console.warn(`costtrace: ${message}`);
  };
}

function appConfig(options: CollectorOptions): AppConfig {
  return {
    maxBodyBytes: options.maxBodyBytes,
    uploadBudgetBytes: options.uploadBudgetBytes ?? DEFAULT_UPLOAD_BUDGET_BYTES,
    ...(options.webhookUploadBudgetBytes ? { webhookUploadBudgetBytes: options.webhookUploadBudgetBytes } : {}),
    ...(options.bodyIdleTimeoutMs ? { bodyIdleTimeoutMs: options.bodyIdleTimeoutMs } : {}),
    tokens: { ingest: options.ingestTokens, read: options.readTokens, admin: options.adminTokens ?? [] },
    ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}),
    ...(options.snapshotDir ? { snapshotDir: options.snapshotDir } : {}),
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
  };
}
