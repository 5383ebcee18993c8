/**
 * `POST /v1/events/ingest` (Polar-compatible, docs/contract.md §3): all-or-nothing 422 with per-event
 * locations; `{inserted, duplicates}` once the batch is committed. Batches share transactions with other
 * requests' events (group commit in the ingest queue) instead of one serialized transaction each.
 */

import type { FastifyInstance } from 'fastify';
import type { CollectorMetrics } from '../core/observability.ts';
import { validateEventBatch } from '../events/validate.ts';
import type { Prices } from '../features/prices/service.ts';
import { InputError } from '../http/errors.ts';
import { EVENTS_BODY, EVENTS_RESPONSE, WRITE_ERRORS } from '../http/schemas.ts';
import { DataRefusedError, type IngestQueue } from '../writer/ingest-queue.ts';

export interface EventsApiDeps {
  readonly queue: IngestQueue;
  readonly metrics: CollectorMetrics;
  readonly nowMicros: () => bigint;
  /** The price book in force (FX rates for non-USD amounts). */
  readonly prices: Prices;
}

export async function eventsApi(app: FastifyInstance, deps: EventsApiDeps): Promise<void> {
  const schema = {
    summary: 'Ingest events (Polar-compatible): all or nothing, deduplicated on external_id',
    tags: ['events'],
    body: EVENTS_BODY,
    response: { 200: EVENTS_RESPONSE, ...WRITE_ERRORS },
  };
  // The body schema documents; validate.ts validates (every problem with its location, Polar's 422 shape).
  const documentOnly = () => () => true;
  app.post(
    '/v1/events/ingest',
    { config: { scope: 'ingest' }, schema, validatorCompiler: documentOnly },
    async (request) => {
      const now = deps.nowMicros();
      const result = validateEventBatch(request.body, now, deps.prices.pricing().book.fx);
      const count = (route: string, code: number) => deps.metrics.requests.inc({ route, code: String(code) });
      if (!result.ok) {
        const body = request.body as { events?: unknown };
        deps.metrics.events.inc({ outcome: 'rejected' }, Array.isArray(body?.events) ? body.events.length : 0);
        count('/v1/events/ingest', 422);
        throw new InputError(result.issues);
      }
      if (result.events.length === 0) return { inserted: 0, duplicates: 0 };
      const written = await deps.queue.submitEvents(result.events, now).catch((err: unknown) => {
        // CONTRACT §12: events whose data the store refuses are a 422 for that batch alone.
        if (!(err instanceof DataRefusedError)) throw err;
        count('/v1/events/ingest', 422);
        throw new InputError([{ loc: ['body', 'events'], msg: err.message, type: 'store_refused' }]);
      });
      deps.metrics.events.inc({ outcome: 'inserted' }, written.inserted);
      deps.metrics.events.inc({ outcome: 'duplicate' }, written.duplicates);
      count('/v1/events/ingest', 200);
      return written;
    },
  );
}
