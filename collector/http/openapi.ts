/**
 * The API describes itself: @fastify/swagger builds an OpenAPI 3.1 document from every route's schemas
 * (request and response), served at `GET /openapi.json`; @fastify/swagger-ui renders it at `GET /docs` with
 * its assets from node_modules (offline). Both are reads (docs/contract.md §12 v3): with read tokens set, every route
 * under `/docs` (the page, its assets, the document as JSON or YAML) and `/openapi.json` need one. The check goes by
 * the route that matched, never by the raw URL, so no spelling of a path (percent-encoding, case, slashes, a query)
 * reaches the document without it.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from './schemas.ts';

type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

export const API_VERSION = '0.2.0';

export async function registerOpenApi(app: FastifyInstance, requireRead: Guard): Promise<void> {
  // Every documented route may answer 403: the Host check (http/auth.ts, DNS rebinding) runs before any route.
  // Added before the swagger plugin's own hook, which keeps the route options it is handed for the document.
  app.addHook('onRoute', (route) => {
    const schema = route.schema as { response?: Record<string, unknown> } | undefined;
    if (schema?.response === undefined || '403' in schema.response) return;
    route.schema = { ...schema, response: { ...schema.response, ...errors(403) } };
  });
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
  // One encapsulated context with the read check on every request: the plugin's routes, and the static assets it
  // serves through @fastify/static (which its own uiHooks do not reach).
  await app.register(async (docs) => {
    docs.addHook('onRequest', requireRead);
    await docs.register(swaggerUi, { routePrefix: '/docs' });
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
