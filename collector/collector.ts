/**
 * Wires the collector's parts together: DuckDB file → attribution state (pending spans reloaded) →
 * ingest queue → HTTP app. `close()` drains in-flight batches and closes DuckDB cleanly.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp, type ResponseCheck } from './app.ts';
import { Forwarder } from './billing/forwarder.ts';
import { AlertSender } from './budgets/alert-sender.ts';
import type { HostResolver, WebhookPolicy } from './budgets/webhook-address.ts';
import { systemResolver } from './http/outbound.ts';
import { DEFAULT_UPLOAD_BUDGET_BYTES } from './limits.ts';
import { CollectorMetrics } from './observability.ts';
import { type AllocationTally, emptyAllocationTally } from './prices/allocator.ts';
import { Prices } from './prices/service.ts';
import { DecodePool, defaultDecodeWorkers } from './receiver/decode-pool.ts';
import { AttributionState } from './store/attribution-state.ts';
import { loadBudgetBook } from './store/budgets.ts';
import { CustomerRegistry } from './store/customers.ts';
import { type Database, openDatabase } from './store/database.ts';
import { IngestQueue } from './store/ingest-queue.ts';
import { loadIndexedPeriods } from './store/insight-index.ts';
import { type IndexTally, InsightIndexer } from './store/insight-indexer.ts';
import { MeterBackfiller } from './store/meter-backfill.ts';
import { loadMeters } from './store/meters.ts';
import { loadPending, prepareWriter } from './store/span-writes.ts';

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
  /** Stored records a new meter measures per writer turn (store/meter-backfill.ts). */
  readonly meterBackfillChunkRecords?: number;
  /** Raw spans older than this many days are removed in the background (0, the default, keeps all). */
  readonly retainSpansDays?: number;
  /** How often the retention job runs (default once a minute). */
  readonly retentionIntervalMs?: number;
  /** How often ended days and months are indexed for insights (default once a minute; store/insight-indexer.ts). */
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

const DAY_MICROS = 86_400_000_000n;

const RECENT_SPANS_REMEMBERED = 200_000;
const PENDING_SPANS_REMEMBERED = 200_000;

export async function openCollector(options: CollectorOptions): Promise<Collector> {
  const nowMicros = options.nowMicros ?? (() => BigInt(Date.now()) * 1000n);
  const db = await openDatabase(options.dbPath, options.duckdbMemoryLimit);
  await prepareWriter(db.writer);
  const metrics = new CollectorMetrics();
  const attribution = new AttributionState(RECENT_SPANS_REMEMBERED, PENDING_SPANS_REMEMBERED);
  attribution.loadPending(await loadPending(db.writer, PENDING_SPANS_REMEMBERED));
  const customers = await CustomerRegistry.load(db.writer);
  const queue = new IngestQueue(
    db,
    attribution,
    customers,
    {
      maxQueuedRecords: options.maxQueuedRecords ?? 200_000,
      maxBatchRecords: options.maxBatchRecords ?? 20_000,
      nowMicros,
      log: (message, err) => app.log.error({ err }, message),
      forwardCosts: Boolean(options.billing?.polarToken),
    },
    metrics,
  );
  const decoder = new DecodePool(options.decodeWorkers ?? defaultDecodeWorkers());
  const meterBackfill = new MeterBackfiller(
    queue,
    (message, err) => app.log.error({ err }, message),
    options.meterBackfillChunkRecords,
  );
  let prices: Prices;
  try {
    prices = await Prices.open(db, queue, decoder, nowMicros, options.pricesFile, options.retainSpansDays ?? 0);
  } catch (err) {
    await decoder.close();
    await queue.close();
    await db.close();
    throw err;
  }
  const webhookPolicy: WebhookPolicy = {
    allowPrivate: options.alerts?.allowPrivateWebhooks === true,
    resolve: options.resolveHost ?? systemResolver,
  };
  const app = await buildApp(
    {
      maxBodyBytes: options.maxBodyBytes,
      uploadBudgetBytes: options.uploadBudgetBytes ?? DEFAULT_UPLOAD_BUDGET_BYTES,
      ...(options.webhookUploadBudgetBytes ? { webhookUploadBudgetBytes: options.webhookUploadBudgetBytes } : {}),
      ...(options.bodyIdleTimeoutMs ? { bodyIdleTimeoutMs: options.bodyIdleTimeoutMs } : {}),
      tokens: { ingest: options.ingestTokens, read: options.readTokens, admin: options.adminTokens ?? [] },
      ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}),
      ...(options.snapshotDir ? { snapshotDir: options.snapshotDir } : {}),
      ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    },
    {
      db,
      queue,
      metrics,
      nowMicros,
      decoder,
      prices,
      meterBackfill,
      webhookSecrets: {
        ...(options.billing?.polarWebhookSecret ? { polar: options.billing.polarWebhookSecret } : {}),
        ...(options.billing?.stripeWebhookSecret ? { stripe: options.billing.stripeWebhookSecret } : {}),
      },
      forwarding: queue.forwardCosts,
      webhookPolicy,
      ...(options.checkResponse ? { checkResponse: options.checkResponse } : {}),
    },
  );
  const forwarder = options.billing?.polarToken
    ? new Forwarder(db, queue, {
        token: options.billing.polarToken,
        apiUrl: options.billing.polarApiUrl ?? DEFAULT_POLAR_API_URL,
        nowMicros,
        log: (message) => app.log.warn(message),
        observe: (outcome, n) => metrics.forwarded.inc({ outcome }, n),
      })
    : null;
  forwarder?.start();
  await loadBudgetBook(db.writer);
  const disabledMeters = await loadMeters(db.writer, nowMicros());
  for (const id of disabledMeters) app.log.error(`meter ${id} cannot be evaluated by the store: disabled`);
  metrics.metersDisabled.inc(disabledMeters.length);
  meterBackfill.kick();
  await loadIndexedPeriods(db.writer);
  const indexer = new InsightIndexer(queue, nowMicros, (message, err) => app.log.error({ err }, message), {
    pending: (n) => metrics.insightIndexPending.set(n),
    indexed: (kind, n) => metrics.insightIndexed.inc({ kind }, n),
  });
  const indexTimer = setInterval(() => indexer.kick(), options.insightIndexIntervalMs ?? 60_000);
  indexTimer.unref();
  indexer.kick();
  const alertSender = new AlertSender(db, queue, {
    ...(options.alerts?.url ? { url: options.alerts.url } : {}),
    ...(options.alerts?.secret ? { secret: options.alerts.secret } : {}),
    policy: webhookPolicy,
    log: (message) => app.log.warn(message),
    observe: (outcome) => metrics.alerts.inc({ outcome }),
  });
  alertSender.start();
  let closing: Promise<void> | null = null;
  const retainDays = options.retainSpansDays ?? 0;
  let retention: Promise<number> | null = null;
  const runRetention = (): Promise<number> => {
    if (retainDays <= 0 || closing) return Promise.resolve(0);
    // One run at a time; a tick that finds one running waits for it.
    retention ??= queue
      .removeSpansBefore(nowMicros() - BigInt(retainDays) * DAY_MICROS)
      .catch((err: unknown) => {
        app.log.error({ err }, 'retention failed; will retry at the next tick');
        return 0;
      })
      .finally(() => {
        retention = null;
      });
    return retention;
  };
  const timer = retainDays > 0 ? setInterval(() => void runRetention(), options.retentionIntervalMs ?? 60_000) : null;
  timer?.unref();
  let allocation: Promise<AllocationTally> | null = null;
  const runAllocation = (): Promise<AllocationTally> => {
    if (closing) return Promise.resolve(emptyAllocationTally());
    allocation ??= prices.allocator
      .allocateDue()
      .then((tally) => {
        for (const problem of tally.problems) app.log.warn(`fixed-cost allocation: ${problem}`);
        return tally;
      })
      .catch((err: unknown) => {
        app.log.error({ err }, 'fixed-cost allocation failed; will retry at the next tick');
        return emptyAllocationTally();
      })
      .finally(() => {
        allocation = null;
      });
    return allocation;
  };
  const allocationTimer = setInterval(() => void runAllocation(), options.allocationIntervalMs ?? 60_000);
  allocationTimer.unref();
  void runAllocation();
  return {
    app,
    db,
    queue,
    decoder,
    runRetention,
    runAllocation,
    indexInsights: () => indexer.run(),
    close() {
      closing ??= (async () => {
        if (timer) clearInterval(timer);
        clearInterval(allocationTimer);
        clearInterval(indexTimer);
        await meterBackfill.stop();
        await indexer.stop();
        await forwarder?.stop();
        await alertSender.stop();
        await retention;
        await allocation;
        await app.close();
        await decoder.close();
        await queue.close();
        await db.close();
      })();
      return closing;
    },
  };
}
