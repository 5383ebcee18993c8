/**
 * Cost traces (docs/contract.md §5): `GET /v1/traces/{trace_id}` returns a trace's span tree with costs;
 * `GET /v1/traces` lists traces by cost. Dates are UTC calendar days, `end_date` inclusive.
 */
import type { FastifyInstance } from 'fastify';
import { formatPicocents, picocentsToNumber } from '../../src/money.ts';
import { MAX_OFFSET } from '../core/limits.ts';
import { DAY_MICROS } from '../core/time.ts';
import { HttpError, InputError } from '../http/errors.ts';
import { COST_TRACE, errors, READ_ERRORS, TRACE_LIST } from '../http/schemas.ts';
import { TRACE_SORTS, type TraceSort } from '../reads/span-reads.ts';
import type { Store } from '../store.ts';
import { parseDateParam } from './dates.ts';
import { buildCostTrace, isoNanos } from './trace-tree.ts';

const TRACE_ID_RE = /^[0-9a-fA-F]{32}$/;

interface ListQuery {
  customer_id?: string;
  start_date?: string;
  end_date?: string;
  sort: TraceSort;
  limit: number;
  offset: number;
}

export async function tracesApi(app: FastifyInstance, deps: { store: Store }): Promise<void> {
  const { store } = deps;

  app.get<{ Params: { trace_id: string } }>(
    '/v1/traces/:trace_id',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'A cost trace: the span tree with each span’s own and subtree cost',
        tags: ['traces'],
        params: {
          type: 'object',
          properties: { trace_id: { type: 'string', description: '32 hex digits' } },
          required: ['trace_id'],
        },
        response: { 200: COST_TRACE, ...READ_ERRORS, ...errors(404, 410) },
      },
    },
    async (request) => {
      const raw = request.params.trace_id;
      if (!TRACE_ID_RE.test(raw)) {
        throw new InputError([{ loc: ['path', 'trace_id'], msg: 'must be 32 hex digits', type: 'value_error' }]);
      }
      const traceId = raw.toLowerCase();
      const spans = await store.traceSpans(traceId);
      if (spans.length === 0) {
        if (await store.traceRemoved(traceId)) {
          throw new HttpError(
            410,
            `trace ${traceId} is past retention: its spans were removed; its cost remains in metrics, cost drivers and trace lists`,
          );
        }
        throw new HttpError(404, `trace ${traceId} not found`);
      }
      return buildCostTrace(traceId, spans);
    },
  );

  app.get<{ Querystring: ListQuery }>(
    '/v1/traces',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Traces by cost (a customer’s, or everyone’s)',
        tags: ['traces'],
        response: { 200: TRACE_LIST, ...READ_ERRORS },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            customer_id: { type: 'string', minLength: 1 },
            start_date: { type: 'string' },
            end_date: { type: 'string' },
            sort: { type: 'string', enum: Object.keys(TRACE_SORTS), default: '-cost' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
            offset: { type: 'integer', minimum: 0, maximum: MAX_OFFSET, default: 0 },
          },
        },
      },
    },
    async (request) => {
      const q = request.query;
      const fromMicros = q.start_date === undefined ? undefined : parseDateParam(q.start_date, 'start_date');
      const toMicros = q.end_date === undefined ? undefined : parseDateParam(q.end_date, 'end_date') + DAY_MICROS;
      if (fromMicros !== undefined && toMicros !== undefined && toMicros <= fromMicros) {
        throw new InputError([
          { loc: ['query', 'end_date'], msg: 'end_date is before start_date', type: 'value_error' },
        ]);
      }
      const { items, total } = await store.listTraces({
        ...(q.customer_id === undefined ? {} : { customerId: q.customer_id }),
        ...(fromMicros === undefined ? {} : { fromMicros }),
        ...(toMicros === undefined ? {} : { toMicros }),
        sort: q.sort,
        limit: q.limit,
        offset: q.offset,
      });
      return {
        items: items.map((t) => ({
          trace_id: t.traceId,
          root_name: t.rootName,
          start_time: isoNanos(t.startTimeUnixNano),
          span_count: t.spanCount,
          cost: picocentsToNumber(t.costPicocents),
          cost_exact: formatPicocents(t.costPicocents),
          unpriced_spans: t.unpricedSpans,
        })),
        pagination: { total_count: total, limit: q.limit, offset: q.offset },
      };
    },
  );
}
