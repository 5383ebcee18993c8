/**
 * The price book (CONTRACT.md §8): `GET /v1/prices` (read scope) shows the version in force and the book as
 * given; `PUT /v1/prices` (admin scope) replaces it — every problem of a bad book comes back in one 422 with its
 * location (`["body", "models", 0, "input_usd_per_mtok"]`), and a refused book changes nothing.
 */
import type { FastifyInstance } from 'fastify';
import { InputError } from '../http/errors.ts';
import { errors, READ_ERRORS } from '../http/schemas.ts';
import type { Prices } from '../prices/service.ts';
import type { StoredBook } from '../store/price-books.ts';
import { isoNanos } from './trace-tree.ts';

const BOOK_VERSION = {
  type: 'object',
  additionalProperties: false,
  required: ['version', 'created_at', 'origin', 'book'],
  properties: {
    version: { type: 'integer', description: 'consecutive from 1; 0 = no book (the bundled model table alone)' },
    created_at: { type: ['string', 'null'] },
    origin: { type: ['string', 'null'], enum: ['file', 'api', null] },
    book: { type: 'object', additionalProperties: true, description: 'the book as given (schema: PriceBook)' },
  },
} as const;

function shown(stored: StoredBook | null) {
  if (stored === null) return { version: 0, created_at: null, origin: null, book: {} };
  return {
    version: stored.version,
    created_at: isoNanos(stored.createdAtMicros * 1000n),
    origin: stored.origin,
    book: JSON.parse(stored.json) as Record<string, unknown>,
  };
}

export async function pricesApi(app: FastifyInstance, deps: { prices: Prices }): Promise<void> {
  app.get(
    '/v1/prices',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'The price book in force (version, origin, the book as given)',
        tags: ['prices'],
        response: { 200: BOOK_VERSION, ...READ_ERRORS },
      },
    },
    async () => shown(deps.prices.current()),
  );

  app.put<{ Body: unknown }>(
    '/v1/prices',
    {
      config: { scope: 'admin' },
      // The book is checked by parsePriceBook, which reports every problem (not just the first).
      validatorCompiler: () => () => true,
      schema: {
        summary: 'Replace the price book (a new version; spans are priced with it from now on)',
        tags: ['prices'],
        body: { $ref: 'PriceBook#' },
        response: { 200: BOOK_VERSION, ...errors(400, 401, 403, 408, 413, 415, 422, 429, 503) },
      },
    },
    async (request) => {
      const r = await deps.prices.replace(request.body, 'api');
      if (!r.ok) {
        throw new InputError(r.problems.map((p) => ({ loc: ['body', ...p.loc], msg: p.msg, type: 'value_error' })));
      }
      return shown(r.stored);
    },
  );
}
