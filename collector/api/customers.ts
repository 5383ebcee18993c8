/**
 * Customers (docs/contract.md §3): `POST /v1/customers` upserts by external id; `GET /v1/customers[/{id}]`.
 * Customers first seen in a span or event exist already, created at their first timestamp.
 */
import type { FastifyInstance } from 'fastify';
import { canonicalText } from '../../src/text.ts';
import { MAX_CUSTOMER_EMAIL_LENGTH, MAX_CUSTOMER_NAME_LENGTH, MAX_ID_LENGTH, MAX_OFFSET } from '../core/limits.ts';
import { parseTimestamp, TIMESTAMP_FORMAT } from '../events/validate.ts';
import { HttpError, InputError } from '../http/errors.ts';
import { CUSTOMER, CUSTOMER_LIST, errors, READ_ERRORS, WRITE_ERRORS } from '../http/schemas.ts';
import type { Store } from '../store.ts';

interface CustomerBody {
  external_id: string;
  name?: string | null;
  email?: string | null;
  created_at?: string | null;
}

export async function customersApi(
  app: FastifyInstance,
  deps: { store: Store; nowMicros: () => bigint },
): Promise<void> {
  const { store } = deps;
  app.post<{ Body: CustomerBody }>(
    '/v1/customers',
    {
      config: { scope: 'ingest' },
      schema: {
        summary: 'Create or update a customer by external id',
        tags: ['customers'],
        response: { 200: CUSTOMER, ...WRITE_ERRORS },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['external_id'],
          properties: {
            external_id: { type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH },
            name: { type: ['string', 'null'], maxLength: MAX_CUSTOMER_NAME_LENGTH },
            email: { type: ['string', 'null'], maxLength: MAX_CUSTOMER_EMAIL_LENGTH },
            created_at: { type: ['string', 'null'] },
          },
        },
      },
    },
    async (request) => {
      const b = request.body;
      let createdAtMicros: bigint | null = null;
      if (b.created_at !== undefined && b.created_at !== null) {
        createdAtMicros = parseTimestamp(b.created_at);
        if (createdAtMicros === null) {
          throw new InputError([
            {
              loc: ['body', 'created_at'],
              msg: TIMESTAMP_FORMAT,
              type: 'datetime_parsing',
            },
          ]);
        }
      }
      const text = (v: string | null | undefined) => (v === undefined || v === null ? null : canonicalText(v));
      const upsert = {
        externalId: canonicalText(b.external_id),
        name: text(b.name),
        email: text(b.email),
        createdAtMicros,
      };
      await store.upsertCustomer(upsert, deps.nowMicros());
      return store.customer(upsert.externalId);
    },
  );

  app.get<{ Params: { external_id: string } }>(
    '/v1/customers/:external_id',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'A customer',
        tags: ['customers'],
        params: {
          type: 'object',
          required: ['external_id'],
          properties: { external_id: { type: 'string', maxLength: MAX_ID_LENGTH } },
        },
        response: { 200: CUSTOMER, ...READ_ERRORS, ...errors(404) },
      },
    },
    async (request) => {
      const c = await store.customer(canonicalText(request.params.external_id));
      if (c === null) throw new HttpError(404, `customer ${request.params.external_id} not found`);
      return c;
    },
  );

  app.get<{ Querystring: { limit: number; offset: number; query?: string } }>(
    '/v1/customers',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Customers, searchable by id, name or email',
        tags: ['customers'],
        response: { 200: CUSTOMER_LIST, ...READ_ERRORS },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            offset: { type: 'integer', minimum: 0, maximum: MAX_OFFSET, default: 0 },
            query: { type: 'string' },
          },
        },
      },
    },
    async (request) => {
      const { limit, offset, query } = request.query;
      const { items, total } = await store.customers({ limit, offset, query });
      return { items, pagination: { total_count: total, limit, offset } };
    },
  );
}
