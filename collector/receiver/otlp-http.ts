/**
 * `POST /v1/traces` (OTLP/HTTP). Returns early at each step, like the Collector's receiver:
 * media type → capacity → body (size, gzip) → decode → normalize/validate → commit → respond.
 * Every response, errors included, is in the request's encoding (google.rpc.Status for failures).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CollectorMetrics } from '../core/observability.ts';
import { classify } from '../http/errors.ts';
import { OTLP_STATUS, OTLP_TRACES_BODY, OTLP_TRACES_RESPONSE } from '../http/schemas.ts';
import type { Rejection } from '../pipeline/normalize.ts';
import type { IngestQueue } from '../writer/ingest-queue.ts';
import { readBody, type UploadBudget } from './body.ts';
import type { DecodePool } from './decode-pool.ts';
import { CONTENT_TYPES, type Encoding, encodeExportResponse, encodeStatus } from './status.ts';

export interface OtlpReceiverDeps {
  readonly queue: IngestQueue;
  readonly metrics: CollectorMetrics;
  readonly maxBodyBytes: number;
  /** Decode + normalize, on worker threads for large requests. */
  readonly decoder: DecodePool;
  /**
   * Body bytes held by all uploads together (read and not yet decoded); past it, 429. Slow senders hold
   * only what they sent, so they cannot take the budget from others.
   */
  readonly budget: UploadBudget;
  readonly idleTimeoutMs: number;
}

/** Media type → encoding; parameters and case are ignored (`application/json; charset=utf-8`). */
export function encodingOf(contentType: string | undefined): Encoding | null {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType === 'application/x-protobuf') return 'protobuf';
  if (mediaType === 'application/json') return 'json';
  return null;
}

export function sendOtlpFailure(reply: FastifyReply, encoding: Encoding, err: unknown): FastifyReply {
  const f = classify(err);
  if (f.internal) reply.log.error({ err }, 'OTLP request failed');
  if (f.retryAfterSeconds !== undefined) reply.header('retry-after', String(f.retryAfterSeconds));
  if (f.statusCode === 408) reply.header('connection', 'close');
  return reply
    .code(f.statusCode)
    .header('content-type', CONTENT_TYPES[encoding])
    .send(encodeStatus(encoding, f.rpcCode, f.message));
}

export async function otlpReceiver(app: FastifyInstance, deps: OtlpReceiverDeps): Promise<void> {
  const { queue, metrics, maxBodyBytes, decoder, budget, idleTimeoutMs } = deps;
  // The body is read by the handler itself (bounded gunzip); fastify must not parse it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  // Errors fastify raises before the handler (e.g. an unparsable Content-Type) still get a Status body.
  app.setErrorHandler((err, request, reply) => {
    const encoding = encodingOf(request.headers['content-type']) ?? 'json';
    const status = (err as { statusCode?: number }).statusCode;
    return sendOtlpFailure(reply, encoding, status === 415 ? unsupportedMediaType() : err);
  });

  const count = (code: number): void => metrics.requests.inc({ route: '/v1/traces', code: String(code) });

  app.post(
    '/v1/traces',
    {
      config: { scope: 'ingest', otlp: true },
      schema: {
        summary: 'OTLP/HTTP trace ingest: a 2xx means the spans are committed',
        tags: ['ingest'],
        consumes: ['application/x-protobuf', 'application/json'],
        body: OTLP_TRACES_BODY,
        response: { 200: OTLP_TRACES_RESPONSE, ...otlpErrors(400, 401, 403, 408, 413, 415, 429, 503) },
      },
      // The body is read and decoded by this receiver (both encodings); the schema documents it.
      validatorCompiler: () => () => true,
    },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const encoding = encodingOf(request.headers['content-type']);
      if (encoding === null) {
        request.raw.resume();
        count(415);
        return sendOtlpFailure(reply, 'json', unsupportedMediaType());
      }
      let reading = false;
      try {
        queue.checkCapacity();
        reading = true;
        const held = await readBody(request.raw, request.headers['content-encoding'], {
          maxBytes: maxBodyBytes,
          budget,
          idleTimeoutMs,
        });
        reading = false;
        const { received, records, rejected } = await decoder.decode(encoding, held.body).finally(held.release);
        metrics.spansReceived.inc(received);
        metrics.spansRejected.inc(rejected.length);
        await queue.submit(records);
        count(200);
        return reply
          .code(200)
          .header('content-type', CONTENT_TYPES[encoding])
          .send(encodeExportResponse(encoding, rejected.length, rejectionMessage(rejected)));
      } catch (err) {
        if (!reading) request.raw.resume(); // refused before reading: drain the upload so the answer gets through
        const f = classify(err);
        count(f.statusCode);
        return sendOtlpFailure(reply, encoding, err);
      }
    },
  );

  // Other methods on the ingest path: 405, as the Collector does (GET /v1/traces is the trace list API).
  app.route({
    method: ['PUT', 'PATCH', 'DELETE'],
    url: '/v1/traces',
    config: { scope: 'public', otlp: true },
    schema: { summary: 'Not allowed on the ingest path', tags: ['ingest'], response: otlpErrors(405) },
    handler: async (request, reply) => {
      request.raw.resume();
      reply.header('allow', 'GET, POST');
      return sendOtlpFailure(reply, encodingOf(request.headers['content-type']) ?? 'json', {
        statusCode: 405,
        message: 'method not allowed, supported: [POST]',
      });
    },
  });

  // OTLP metrics and logs are not ingested: say so plainly instead of dropping them silently.
  for (const url of ['/v1/logs', '/v1/metrics']) {
    const schema = { summary: 'Not ingested (traces only)', tags: ['ingest'], response: otlpErrors(404) };
    app.post(url, { config: { scope: 'ingest', otlp: true }, schema }, async (request, reply) => {
      request.raw.resume();
      return sendOtlpFailure(reply, encodingOf(request.headers['content-type']) ?? 'json', {
        statusCode: 404,
        message: `costtrace ingests OTLP traces only; POST ${url} is not supported`,
      });
    });
  }
}

function otlpErrors(...statuses: number[]) {
  return Object.fromEntries(statuses.map((s) => [s, OTLP_STATUS]));
}

function unsupportedMediaType() {
  return { statusCode: 415, message: 'unsupported media type, supported: [application/json, application/x-protobuf]' };
}

const MAX_REASONS_SHOWN = 5;

function rejectionMessage(rejected: readonly Rejection[]): string {
  if (rejected.length === 0) return '';
  const shown = rejected
    .slice(0, MAX_REASONS_SHOWN)
    .map((r) => `span ${r.spanId || '(no id)'}: ${r.reason}`)
    .join('; ');
  const more = rejected.length > MAX_REASONS_SHOWN ? `; and ${rejected.length - MAX_REASONS_SHOWN} more` : '';
  return `${rejected.length} span(s) rejected: ${shown}${more}`;
}
