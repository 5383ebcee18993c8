/**
 * The billing bridge's HTTP side (docs/contract.md §9): `POST /v1/webhooks/polar` and `POST /v1/webhooks/stripe` book
 * revenue and customers from signed webhooks (no bearer token: the signature is the authentication), and
 * `GET /v1/forwarding` shows the Polar outbox. A bad, stale or future signature → 401; a body that is not the
 * provider's shape → 400; a value over a record limit (amount, id length, time; docs/contract.md §12) or an amount that
 * cannot be converted (no FX rate) → 422 listing where, as the events API refuses a limit — nothing stored in each
 * case, and never 5xx for a body (the provider would retry it forever); a store failure → 5xx so the sender
 * retries; the same delivery again → 200 `duplicate`.
 */
import type { FastifyInstance } from 'fastify';
import { formatPicocents, picocentsToNumber } from '../../../src/money.ts';
import type { CollectorMetrics } from '../../core/observability.ts';
import { HttpError, InputError } from '../../http/errors.ts';
import { errors, READ_ERRORS } from '../../http/schemas.ts';
import type { Store } from '../../store.ts';
import type { FxRate } from '../prices/book.ts';
import type { BookingOutcome, BookingRefused } from './billing-writes.ts';
import type { Booking, Provider, WebhookRead } from './bookings.ts';
import { minorToUsdPicocents } from './currency.ts';
import { readPolarWebhook } from './polar-webhook.ts';
import { readStripeWebhook } from './stripe-webhook.ts';

export interface WebhookSecrets {
  readonly polar?: string;
  readonly stripe?: string;
}

const WEBHOOK_RESPONSE = {
  type: 'object',
  additionalProperties: false,
  required: ['status'],
  properties: {
    status: {
      type: 'string',
      enum: ['booked', 'duplicate', 'ignored', 'nothing_new'],
      description:
        'booked; duplicate (this delivery was handled before); ignored (a type costtrace does not book); nothing_new (e.g. a refund already booked)',
    },
    type: { type: 'string', description: 'the ignored event type' },
  },
} as const;

const WEBHOOK_BODY = { type: 'string', description: 'the raw, signed webhook payload (JSON)' } as const;

export async function webhooksApi(
  app: FastifyInstance,
  deps: {
    store: Store;
    /** The exchange rates of the price book in force (a webhook in another currency is booked in USD). */
    fxRates: () => readonly FxRate[];
    metrics: CollectorMetrics;
    secrets: WebhookSecrets;
    nowMicros: () => bigint;
  },
): Promise<void> {
  const book = async (provider: Provider, deliveryId: string, booking: Booking) => {
    let outcome: BookingOutcome | BookingRefused;
    try {
      outcome = await deps.store.billing.book(booking, {
        provider,
        deliveryId,
        nowMicros: deps.nowMicros(),
        toUsd: (minor, currency, at) => minorToUsdPicocents(minor, currency, at, deps.fxRates()),
      });
    } catch (err) {
      deps.metrics.webhooks.inc({ provider, outcome: 'failed' });
      throw err;
    }
    if (typeof outcome !== 'string') {
      deps.metrics.webhooks.inc({ provider, outcome: 'refused' });
      throw new InputError([outcome.refused]);
    }
    deps.metrics.webhooks.inc({ provider, outcome });
    return { status: outcome, ...(booking.kind === 'ignored' ? { type: booking.type } : {}) };
  };
  const refuse = (provider: Provider, read: Extract<WebhookRead, { ok: false }>): never => {
    if (read.status === 422) {
      deps.metrics.webhooks.inc({ provider, outcome: 'refused' });
      throw new InputError(read.problems);
    }
    deps.metrics.webhooks.inc({ provider, outcome: read.status === 401 ? 'bad_signature' : 'malformed' });
    throw new HttpError(read.status, read.reason);
  };
  const secretOf = (provider: Provider, secret: string | undefined, variable: string): string => {
    if (secret) return secret;
    deps.metrics.webhooks.inc({ provider, outcome: 'not_configured' });
    throw new HttpError(503, `${provider} webhooks are not configured: set ${variable}`);
  };

  app.post<{ Body: string }>(
    '/v1/webhooks/polar',
    {
      config: { scope: 'public' },
      schema: {
        summary: 'Polar webhooks (Standard Webhooks signature): order.paid, order.refunded, customer.created/updated',
        tags: ['billing'],
        body: WEBHOOK_BODY,
        response: { 200: WEBHOOK_RESPONSE, ...errors(400, 401, 408, 413, 415, 422, 429, 500, 503) },
      },
    },
    async (request) => {
      const secret = secretOf('polar', deps.secrets.polar, 'COSTTRACE_POLAR_WEBHOOK_SECRET');
      const headers = Object.fromEntries(
        ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(request.headers[h] ?? '')]),
      );
      const read = readPolarWebhook(request.body, headers, secret);
      if (!read.ok) return refuse('polar', read);
      return book('polar', read.deliveryId, read.booking);
    },
  );

  app.post<{ Body: string }>(
    '/v1/webhooks/stripe',
    {
      config: { scope: 'public' },
      schema: {
        summary: 'Stripe webhooks (stripe-signature): invoice.paid, charge.refunded, customer.created/updated',
        tags: ['billing'],
        body: WEBHOOK_BODY,
        response: { 200: WEBHOOK_RESPONSE, ...errors(400, 401, 408, 413, 415, 422, 429, 500, 503) },
      },
    },
    async (request) => {
      const secret = secretOf('stripe', deps.secrets.stripe, 'COSTTRACE_STRIPE_WEBHOOK_SECRET');
      const signature = request.headers['stripe-signature'];
      const nowMs = Number(deps.nowMicros() / 1000n);
      const read = readStripeWebhook(
        request.body,
        typeof signature === 'string' ? signature : undefined,
        secret,
        nowMs,
      );
      if (!read.ok) return refuse('stripe', read);
      return book('stripe', read.deliveryId, read.booking);
    },
  );
}

const FORWARDING_RESPONSE = {
  type: 'object',
  additionalProperties: false,
  required: ['enabled', 'pending', 'sent', 'parked', 'parked_events'],
  properties: {
    enabled: { type: 'boolean', description: 'COSTTRACE_POLAR_TOKEN is set' },
    pending: { type: 'integer', description: 'cost events waiting to be sent' },
    sent: { type: 'integer', description: 'events Polar acknowledged (cumulative, across restarts)' },
    parked: { type: 'integer', description: 'events Polar refused for good (kept, with its reason)' },
    parked_events: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['external_id', 'customer_id', 'name', 'timestamp', 'cost', 'cost_exact', 'reason', 'parked_at'],
        properties: {
          external_id: { type: 'string' },
          customer_id: { type: 'string' },
          name: { type: 'string' },
          timestamp: { type: 'string' },
          cost: { type: 'number' },
          cost_exact: { type: 'string' },
          reason: { type: 'string' },
          parked_at: { type: 'string' },
        },
      },
    },
  },
} as const;

const iso = (micros: bigint) => new Date(Number(micros / 1000n)).toISOString();

export async function forwardingApi(app: FastifyInstance, deps: { store: Store; enabled: boolean }): Promise<void> {
  app.get<{ Querystring: { limit: number } }>(
    '/v1/forwarding',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Cost events forwarded to Polar: pending, sent and parked counts, and the parked events',
        tags: ['billing'],
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        },
        response: { 200: FORWARDING_RESPONSE, ...READ_ERRORS },
      },
    },
    async (request) => {
      const [counts, parked] = await deps.store.billing.forwarding(request.query.limit);
      return {
        enabled: deps.enabled,
        ...counts,
        parked_events: parked.map((e) => ({
          external_id: e.externalId,
          customer_id: e.customerId,
          name: e.name,
          timestamp: iso(e.tsMicros),
          cost: picocentsToNumber(e.costPicocents),
          cost_exact: formatPicocents(e.costPicocents),
          reason: e.reason,
          parked_at: iso(e.parkedAtMicros),
        })),
      };
    },
  );
}
