/**
 * Usage meters (docs/contract.md §11): `POST /v1/meters` and `DELETE /v1/meters/{id}` (admin scope), `GET /v1/meters`,
 * `GET /v1/meters/{id}` and `GET /v1/meters/{id}/quantities` (read scope; periods in a zone like `/v1/metrics`).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { formatPicocents, picocentsToNumber } from '../../../src/money.ts';
import { METRICS_QUERYSTRING } from '../../api/metrics.ts';
import { MAX_METERS, MAX_NAME_LENGTH } from '../../core/limits.ts';
import { HttpError, InputError } from '../../http/errors.ts';
import { DELETED_BODY, errors, itemsOf, READ_ERRORS } from '../../http/schemas.ts';
import { type Interval, key, periodWindow } from '../../metrics/calendar.ts';
import { checkRange, parseWindow } from '../../metrics/params.ts';
import type { Store } from '../../store.ts';
import { METER_FUNCS, type Meter, type MeterBody, parseMeter } from './definition.ts';
import type { MeterBackfiller } from './meter-backfill.ts';

export const METER = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'name',
    'filter',
    'aggregation',
    'created_at',
    'backfill_complete',
    'backfilled_through',
    'disabled_reason',
  ],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    filter: {
      type: 'object',
      additionalProperties: false,
      required: ['event_name', 'span_name', 'attributes'],
      properties: {
        event_name: { anyOf: [{ type: 'string' }, { type: 'null' }] },
        span_name: { anyOf: [{ type: 'string' }, { type: 'null' }] },
        attributes: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
    aggregation: {
      type: 'object',
      additionalProperties: false,
      required: ['func', 'property'],
      properties: {
        func: { type: 'string', enum: [...METER_FUNCS] },
        property: { anyOf: [{ type: 'string' }, { type: 'null' }] },
      },
    },
    created_at: { type: 'string' },
    backfill_complete: {
      type: 'boolean',
      description: 'true once the meter has measured every record stored before it was defined',
    },
    backfilled_through: {
      anyOf: [{ type: 'string' }, { type: 'null' }],
      description: 'while not complete: stored records starting before this time are measured',
    },
    disabled_reason: {
      anyOf: [{ type: 'string' }, { type: 'null' }],
      description:
        'set when the store could not evaluate the meter on a write: it keeps what it measured, measures nothing more',
    },
  },
} as const;

const QUANTITIES = {
  type: 'object',
  additionalProperties: false,
  required: ['meter_id', 'periods', 'total', 'total_exact'],
  properties: {
    meter_id: { type: 'string' },
    periods: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['timestamp', 'quantity', 'quantity_exact'],
        properties: { timestamp: { type: 'string' }, quantity: { type: 'number' }, quantity_exact: { type: 'string' } },
      },
    },
    total: { type: 'number', description: 'over the whole range (unique: distinct values over the range)' },
    total_exact: { type: 'string' },
  },
} as const;

const ID_PARAMS = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

export function meterView(m: Meter) {
  return {
    id: m.id,
    name: m.name,
    filter: {
      event_name: m.filter.eventName,
      span_name: m.filter.spanName,
      attributes: Object.fromEntries(m.filter.attributes),
    },
    aggregation: { func: m.func, property: m.property },
    created_at: new Date(Number(m.createdAtMicros / 1000n)).toISOString(),
    backfill_complete: m.backfillCursorMicros === null,
    backfilled_through:
      m.backfillCursorMicros === null ? null : new Date(Number(m.backfillCursorMicros / 1000n)).toISOString(),
    disabled_reason: m.disabledReason,
  };
}

/** The stored meter with this id (404 when there is none). */
export async function meterById(store: Store, id: string): Promise<Meter> {
  const meter = await store.meters.byId(id);
  if (meter === undefined) throw new HttpError(404, `no meter ${JSON.stringify(id)}`);
  return meter;
}

export async function metersApi(
  app: FastifyInstance,
  deps: { store: Store; nowMicros: () => bigint; backfill: MeterBackfiller },
): Promise<void> {
  app.post<{ Body: MeterBody }>(
    '/v1/meters',
    {
      config: { scope: 'admin' },
      schema: {
        summary:
          'Define a usage meter; it measures every new record at once, and the records already stored in chunks (see backfill_complete)',
        tags: ['meters'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'aggregation'],
          properties: {
            name: { type: 'string', maxLength: MAX_NAME_LENGTH },
            filter: {
              type: 'object',
              additionalProperties: false,
              properties: {
                event_name: { type: 'string' },
                span_name: { type: 'string' },
                attributes: { type: 'object', description: 'attribute → value (string, number or boolean)' },
              },
            },
            aggregation: {
              type: 'object',
              additionalProperties: false,
              required: ['func'],
              properties: { func: { type: 'string', enum: [...METER_FUNCS] }, property: { type: 'string' } },
            },
          },
        },
        response: { 201: METER, ...errors(400, 401, 403, 408, 409, 413, 415, 422, 429, 503) },
      },
    },
    async (request, reply) => {
      const parsed = parseMeter(request.body, randomUUID(), deps.nowMicros());
      if (!parsed.ok) throw new InputError(parsed.issues);
      const meter = parsed.meter;
      // Evaluated by the engine once before it is stored: nothing accepted here can make a write fail later.
      const created = await deps.store.meters.create(meter);
      if (created === 'full') throw new HttpError(409, `at most ${MAX_METERS} meters; delete one first`);
      if (created === 'unevaluable') {
        throw new InputError([
          { loc: ['body'], msg: 'the store cannot evaluate this meter (its filter or property)', type: 'value_error' },
        ]);
      }
      deps.backfill.kick();
      reply.code(201);
      return meterView(meter);
    },
  );

  app.get(
    '/v1/meters',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Every meter',
        tags: ['meters'],
        response: {
          200: itemsOf(METER),
          ...READ_ERRORS,
        },
      },
    },
    async () => ({ items: (await deps.store.meters.list()).map(meterView) }),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/meters/:id',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'One meter',
        tags: ['meters'],
        params: ID_PARAMS,
        response: { 200: METER, ...errors(401, 403, 404, 422, 503) },
      },
    },
    async (request) => meterView(await meterById(deps.store, request.params.id)),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/meters/:id',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Remove a meter and what it measured',
        tags: ['meters'],
        params: ID_PARAMS,
        response: {
          200: DELETED_BODY,
          ...errors(401, 403, 404, 422, 503),
        },
      },
    },
    async (request) => {
      const id = request.params.id;
      const deleted = await deps.store.meters.remove(id);
      if (!deleted) throw new HttpError(404, `no meter ${JSON.stringify(id)}`);
      return { deleted: id };
    },
  );

  app.get<{
    Params: { id: string };
    Querystring: {
      start_date: string;
      end_date: string;
      interval: Interval;
      timezone?: string;
      customer_id?: string[];
    };
  }>(
    '/v1/meters/:id/quantities',
    {
      config: { scope: 'read' },
      schema: {
        summary: "A meter's quantity per period in a time zone (all customers, or those named)",
        tags: ['meters'],
        params: ID_PARAMS,
        querystring: {
          ...METRICS_QUERYSTRING,
          properties: {
            start_date: METRICS_QUERYSTRING.properties.start_date,
            end_date: METRICS_QUERYSTRING.properties.end_date,
            interval: METRICS_QUERYSTRING.properties.interval,
            timezone: METRICS_QUERYSTRING.properties.timezone,
            customer_id: METRICS_QUERYSTRING.properties.customer_id,
          },
        },
        response: { 200: QUANTITIES, ...errors(401, 403, 404, 422, 503) },
      },
    },
    async (request) => {
      const q = request.query;
      const issues: Array<{ loc: Array<string | number>; msg: string; type: string }> = [];
      const window = parseWindow(q, issues);
      if (window) checkRange(window, q.interval, issues);
      if (issues.length > 0 || !window) throw new InputError(issues);
      const meter = await meterById(deps.store, request.params.id);
      const { periods, fromMs, toMs, zone } = periodWindow({ ...window, interval: q.interval });
      const ids = q.customer_id && q.customer_id.length > 0 ? q.customer_id : null;
      const answer = await deps.store.meters.quantities(
        meter,
        { fromMicros: BigInt(fromMs) * 1000n, toMicros: BigInt(toMs) * 1000n },
        ids,
        q.interval,
        zone.segments,
      );
      return {
        meter_id: meter.id,
        periods: periods.map((p) => {
          const quantity = answer.periods.get(key(p)) ?? 0n;
          return {
            timestamp: zone.isoWithOffset(p),
            quantity: picocentsToNumber(quantity),
            quantity_exact: formatPicocents(quantity),
          };
        }),
        total: picocentsToNumber(answer.total),
        total_exact: formatPicocents(answer.total),
      };
    },
  );
}
