/**
 * `buildApp(config, deps)` assembles the HTTP surface on one port: OTLP receiver, read API, health and
 * Prometheus metrics. It never listens (collector/server.ts does), so tests drive it with inject().
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { adminApi } from './api/admin.ts';
import { customerMetricsApi } from './api/customer-metrics.ts';
import { customersApi } from './api/customers.ts';
import { eventsApi } from './api/events.ts';
import { metricsApi } from './api/metrics.ts';
import { tracesApi } from './api/traces.ts';
import { BODY_IDLE_TIMEOUT_MS, MAX_ID_LENGTH, REQUEST_TIMEOUT_MS, WEBHOOK_UPLOAD_BUDGET_BYTES } from './core/limits.ts';
import type { CollectorMetrics } from './core/observability.ts';
import { dashboard } from './dashboard/plugin.ts';
import { forwardingApi, type WebhookSecrets, webhooksApi } from './features/billing/routes.ts';
import { budgetsApi } from './features/budgets/routes.ts';
import type { WebhookPolicy } from './features/budgets/webhook-address.ts';
import { insightsApi } from './features/insights/routes.ts';
import type { MeterBackfiller } from './features/meters/meter-backfill.ts';
import { metersApi } from './features/meters/routes.ts';
import { PRICE_BOOK_SCHEMA } from './features/prices/book-schema.ts';
import { pricesApi } from './features/prices/routes.ts';
import type { Prices } from './features/prices/service.ts';
import { type AuthOutcome, createAuthorizer, createHostCheck, type Scope, type TokenSets } from './http/auth.ts';
import { classify } from './http/errors.ts';
import { registerOpenApi } from './http/openapi.ts';
import { errors, STATUS_BODY, TRACE_SPAN } from './http/schemas.ts';
import { UploadBudget } from './receiver/body.ts';
import type { DecodePool } from './receiver/decode-pool.ts';
import { useBoundedJsonBodies } from './receiver/json-body.ts';
import { encodingOf, otlpReceiver, sendOtlpFailure } from './receiver/otlp-http.ts';
import type { Store } from './store.ts';
import type { IngestQueue } from './writer/ingest-queue.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Which bearer-token scope a route needs. */
    scope?: Scope;
    /** OTLP routes answer errors as google.rpc.Status in the request's encoding. */
    otlp?: boolean;
  }
}

export interface AppConfig {
  readonly maxBodyBytes: number;
  /** Request body bytes held in memory by all uploads together; past it, 429 (see UploadBudget). */
  readonly uploadBudgetBytes: number;
  /** Request body bytes of signed webhooks held at once, apart from the above (default WEBHOOK_UPLOAD_BUDGET_BYTES). */
  readonly webhookUploadBudgetBytes?: number;
  /** A body sending nothing for this long is answered 408 (default BODY_IDLE_TIMEOUT_MS). */
  readonly bodyIdleTimeoutMs?: number;
  readonly tokens: TokenSets;
  /** COSTTRACE_ALLOWED_HOSTS: Host names served besides loopback (http/auth.ts, the DNS-rebinding check). */
  readonly allowedHosts?: readonly string[];
  /** COSTTRACE_SNAPSHOT_DIR: snapshots are written only inside this folder (db/snapshot.ts). */
  readonly snapshotDir?: string;
  readonly logLevel?: string;
}

/** Checks a payload against the route's response schema for its status (tests: every response is documented). */
export type ResponseCheck = (
  routeSchema: Record<string, unknown> | undefined,
  statusCode: number,
  payload: unknown,
) => void;

export interface AppDeps {
  /** The store's domain methods and the feature services (routes never see a connection). */
  readonly store: Store;
  /** Ingest: capacity checks and submissions (the one writer). */
  readonly queue: IngestQueue;
  readonly metrics: CollectorMetrics;
  readonly decoder: DecodePool;
  readonly prices: Prices;
  /** Measures stored records for new meters, a chunk per writer turn. */
  readonly meterBackfill: MeterBackfiller;
  /** Billing webhook signing secrets (a provider without one answers 503). */
  readonly webhookSecrets?: WebhookSecrets;
  /** Whether attributed costs are forwarded to Polar (GET /v1/forwarding says so). */
  readonly forwarding?: boolean;
  /** The address policy of per-budget webhook URLs (features/budgets/webhook-address.ts; default: public addresses only). */
  readonly webhookPolicy?: WebhookPolicy;
  /** The clock (µs since epoch), injected so tests can pin "now". */
  readonly nowMicros: () => bigint;
  /** Tests: called with each JSON response before it is serialized. */
  readonly checkResponse?: ResponseCheck;
}

export async function buildApp(config: AppConfig, deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: config.logLevel ? { level: config.logLevel } : false,
    bodyLimit: config.maxBodyBytes,
    // Large OTLP uploads from many exporters: keep-alive sockets are the norm.
    keepAliveTimeout: 65_000,
    // A request must arrive whole within this time (Node answers 408 and closes): slow senders cannot hold
    // connections open indefinitely. Stalled bodies are cut sooner by the body reader's idle timeout.
    requestTimeout: REQUEST_TIMEOUT_MS,
    // Ids of up to MAX_ID_LENGTH characters, percent-encoded (up to 12 bytes each as UTF-8 escapes).
    routerOptions: { maxParamLength: MAX_ID_LENGTH * 12 },
  });
  // Per kind of upload: OTLP gets three quarters of the budget, the JSON write APIs one quarter, so a flood of
  // one kind cannot starve the other.
  const otlpBudget = new UploadBudget(Math.floor(config.uploadBudgetBytes * 0.75));
  const jsonBudget = new UploadBudget(config.uploadBudgetBytes - otlpBudget.capacityBytes);
  // Webhooks are unauthenticated until their signature is checked (after the body is read): a budget of their own.
  const webhookBudget = new UploadBudget(config.webhookUploadBudgetBytes ?? WEBHOOK_UPLOAD_BUDGET_BYTES);
  const idleTimeoutMs = config.bodyIdleTimeoutMs ?? BODY_IDLE_TIMEOUT_MS;
  const authorize = createAuthorizer(config.tokens);
  const checkHost = createHostCheck(config.tokens, config.allowedHosts ?? []);
  // Routes see the store's domain methods, never a connection.
  const store = deps.store;

  const refuse = async (outcome: AuthOutcome, request: FastifyRequest, reply: FastifyReply) => {
    if (outcome.ok) return;
    request.raw.resume();
    if (outcome.status === 401) reply.header('www-authenticate', 'Bearer');
    const err = { statusCode: outcome.status, message: outcome.message };
    if (request.routeOptions.config?.otlp) {
      return sendOtlpFailure(reply, encodingOf(request.headers['content-type']) ?? 'json', err);
    }
    return sendJsonFailure(reply, err);
  };
  const enforce = async (scope: Scope, request: FastifyRequest, reply: FastifyReply) =>
    refuse(authorize(scope, request.headers.authorization), request, reply);
  // The Host check (DNS rebinding, docs/contract.md §12 v3) comes first, on every request, routes or not.
  app.addHook('onRequest', async (request, reply) => {
    const host = checkHost(request.headers.host);
    if (!host.ok) return refuse(host, request, reply);
    return enforce(request.routeOptions.config?.scope ?? 'public', request, reply);
  });
  if (deps.checkResponse) {
    const check = deps.checkResponse;
    app.addHook('preSerialization', async (request, reply, payload) => {
      // Routes only (not the 404 handler); 5xx are never documented answers and are failures already.
      if (request.routeOptions.url !== undefined && reply.statusCode < 500) {
        check(request.routeOptions.schema as Record<string, unknown> | undefined, reply.statusCode, payload);
      }
      return payload;
    });
  }
  await registerOpenApi(app, (request, reply) => enforce('read', request, reply));
  app.addSchema(TRACE_SPAN);
  app.addSchema(PRICE_BOOK_SCHEMA);

  app.setErrorHandler((err, request, reply) => {
    if (classify(err).internal) request.log.error({ err }, 'request failed');
    return sendJsonFailure(reply, err);
  });
  app.setNotFoundHandler((request, reply) => {
    request.raw.resume();
    return reply.code(404).send({ error: 'not_found', message: `no route for ${request.method} ${request.url}` });
  });

  app.get(
    '/healthz',
    { config: { scope: 'public' }, schema: { summary: 'Liveness', tags: ['health'], response: { 200: STATUS_BODY } } },
    async () => ({ status: 'ok' }),
  );
  const readiness = {
    summary: 'Readiness: the store is open and writable',
    tags: ['health'],
    response: { 200: STATUS_BODY, 503: STATUS_BODY },
  };
  app.get('/readyz', { config: { scope: 'public' }, schema: readiness }, async (_request, reply) => {
    const ready = await store.ready();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable' });
  });
  const prometheus = {
    summary: 'Prometheus metrics (text exposition format)',
    tags: ['health'],
    produces: ['text/plain'],
    response: { 200: { type: 'string' }, ...errors(401, 403) },
  };
  app.get('/metrics', { config: { scope: 'read' }, schema: prometheus }, async (_request, reply) => {
    deps.metrics.queueDepth.set(deps.queue.depth);
    deps.metrics.pendingAttribution.set(deps.queue.pendingAttribution);
    if (deps.forwarding) deps.metrics.forwardingPending.set((await store.billing.forwardingCounts()).pending);
    return reply.header('content-type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  await app.register(otlpReceiver, {
    queue: deps.queue,
    metrics: deps.metrics,
    maxBodyBytes: config.maxBodyBytes,
    decoder: deps.decoder,
    budget: otlpBudget,
    idleTimeoutMs,
  });
  await app.register(tracesApi, { store });
  await app.register(metricsApi, { store });
  await app.register(customerMetricsApi, { store });
  await app.register(adminApi, { store, ...(config.snapshotDir ? { snapshotDir: config.snapshotDir } : {}) });
  await app.register(insightsApi, { store });
  await app.register(async (writes) => {
    // Event and customer writes: capacity is checked before a byte of the body is read, and bodies are
    // read under their share of the upload budget.
    useBoundedJsonBodies(writes, { queue: deps.queue, budget: jsonBudget, idleTimeoutMs });
    await writes.register(eventsApi, {
      queue: deps.queue,
      metrics: deps.metrics,
      nowMicros: deps.nowMicros,
      prices: deps.prices,
    });
    await writes.register(customersApi, { store, nowMicros: deps.nowMicros });
    await writes.register(pricesApi, { prices: deps.prices, store });
    await writes.register(budgetsApi, {
      store,
      nowMicros: deps.nowMicros,
      ...(deps.webhookPolicy ? { webhookPolicy: deps.webhookPolicy } : {}),
      isAdmin: (request) => authorize('admin', request.headers.authorization).ok,
    });
    await writes.register(metersApi, {
      store,
      nowMicros: deps.nowMicros,
      backfill: deps.meterBackfill,
    });
  });
  await app.register(async (hooks) => {
    // Signed webhooks: the same bounded body reading, but the route gets the exact text to verify.
    useBoundedJsonBodies(hooks, { queue: deps.queue, budget: webhookBudget, idleTimeoutMs, raw: true });
    await hooks.register(webhooksApi, {
      store,
      fxRates: () => deps.prices.pricing().book.fx,
      metrics: deps.metrics,
      secrets: deps.webhookSecrets ?? {},
      nowMicros: deps.nowMicros,
    });
  });
  await app.register(forwardingApi, { store, enabled: deps.forwarding ?? false });
  await app.register(dashboard);
  return app;
}

export function sendJsonFailure(reply: FastifyReply, err: unknown): FastifyReply {
  const f = classify(err);
  if (f.retryAfterSeconds !== undefined) reply.header('retry-after', String(f.retryAfterSeconds));
  if (f.statusCode === 408) reply.header('connection', 'close');
  return reply.code(f.statusCode).send({
    error: ERROR_NAMES[f.statusCode] ?? 'error',
    message: f.message,
    ...(f.detail ? { detail: f.detail } : {}),
  });
}

const ERROR_NAMES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  410: 'gone',
  408: 'request_timeout',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'validation_error',
  429: 'too_many_requests',
  500: 'internal_error',
  503: 'unavailable',
};
