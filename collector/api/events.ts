/**
 * `POST /v1/events/ingest` (Polar-compatible, CONTRACT.md §3): all-or-nothing 422 with per-event
 * locations; `{inserted, duplicates}` once the batch is committed.
 */
import type { FastifyInstance } from 'fastify';
import { validateEventBatch } from '../events/validate.ts';
import { InputError } from '../http/errors.ts';
import { writeEvents } from '../store/event-writes.ts';
import type { IngestQueue } from '../store/ingest-queue.ts';

export interface EventsApiDeps {
  readonly queue: IngestQueue;
  readonly nowMicros: () => bigint;
}

export async function eventsApi(app: FastifyInstance, deps: EventsApiDeps): Promise<void> {
  app.post('/v1/events/ingest', { config: { scope: 'ingest' } }, async (request) => {
    const now = deps.nowMicros();
    const result = validateEventBatch(request.body, now);
    if (!result.ok) throw new InputError(result.issues);
    if (result.events.length === 0) return { inserted: 0, duplicates: 0 };
    deps.queue.checkCapacity();
    return deps.queue.exclusive((conn, customers) => writeEvents(conn, customers, result.events, now));
  });
}
