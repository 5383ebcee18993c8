/**
 * The API describes itself: @fastify/swagger builds an OpenAPI 3.1 document from every route's schemas
 * (request and response), served at `GET /openapi.json`; @fastify/swagger-ui renders it at `GET /docs` with
 * its assets from node_modules (offline). The document is read-scoped like every other read; the page itself
 * is public like the dashboard (with read tokens set, the document is fetched with one).
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from './schemas.ts';

type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

export const API_VERSION = '0.2.0';

export async function registerOpenApi(app: FastifyInstance, requireRead: Guard): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'costtrace',
        version: API_VERSION,
        description:
          'What each customer costs to serve: OTLP/HTTP trace ingest, Polar-compatible events and metrics, cost ' +
          'traces. Money is cents (a JSON number) with exact decimal strings in `*_exact` fields.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    // Shared schemas keep their own names (TraceSpan) in components/schemas.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiHooks: {
      onRequest: async (request, reply) => {
        // The document itself (json/yaml) is a read; the page and its assets are public.
        if (/\/(json|yaml)$/.test(request.url.split('?')[0] ?? '')) await requireRead(request, reply);
      },
    },
  });
  app.get(
    '/openapi.json',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'This OpenAPI 3.1 document',
        tags: ['meta'],
        response: { 200: { type: 'object', additionalProperties: true }, ...errors(401, 403) },
      },
    },
    async () => app.swagger(),
  );
}
