/**
 * Bodies of the JSON write APIs (events, customers), read like OTLP uploads: the ingest queue's capacity is
 * checked before a byte is read (429 when full), the body is read under the shared upload budget with the
 * idle timeout and size cap of body.ts, and its bytes stay reserved until the response is sent — so slow or
 * large event uploads cannot grow memory past the budget.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MAX_JSON_API_BODY_BYTES } from '../core/limits.ts';
import { HttpError } from '../http/errors.ts';
import type { IngestQueue } from '../writer/ingest-queue.ts';
import { readBody, type UploadBudget } from './body.ts';

export interface JsonBodyDeps {
  readonly queue: IngestQueue;
  readonly budget: UploadBudget;
  readonly maxBytes?: number;
  readonly idleTimeoutMs: number;
  /** Hand the route the body text unparsed (signed webhooks verify the exact bytes, then parse). */
  readonly raw?: boolean;
}

/** Applies to the routes of `app`'s own context (call it before registering them, not as a plugin). */
export function useBoundedJsonBodies(app: FastifyInstance, deps: JsonBodyDeps): void {
  const maxBytes = deps.maxBytes ?? MAX_JSON_API_BODY_BYTES;
  const responses = new WeakMap<IncomingMessage, ServerResponse>();
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'POST') return;
    responses.set(request.raw, reply.raw);
    try {
      deps.queue.checkCapacity();
    } catch (err) {
      request.raw.resume(); // refused before reading: drain the upload so the answer gets through
      throw err;
    }
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', async (request: FastifyRequest, payload: IncomingMessage) => {
    const held = await readBody(payload, request.headers['content-encoding'], {
      maxBytes,
      budget: deps.budget,
      idleTimeoutMs: deps.idleTimeoutMs,
    });
    // Held until the answer is sent (or the client goes away): the parsed body lives that long.
    const response = responses.get(request.raw);
    if (response && !response.closed) response.once('close', held.release);
    else held.release();
    if (held.body.length === 0) throw new HttpError(400, 'the request body is empty; send a JSON object');
    if (deps.raw) return held.body.toString('utf8');
    try {
      return JSON.parse(held.body.toString('utf8')) as unknown;
    } catch (err) {
      throw new HttpError(400, `invalid JSON body: ${(err as Error).message}`);
    }
  });
  app.addContentTypeParser('*', async () => {
    throw new HttpError(415, 'unsupported media type, send application/json');
  });
}
