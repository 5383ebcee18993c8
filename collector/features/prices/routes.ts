/**
 * The price book (docs/contract.md §8): `GET /v1/prices` (read scope) shows the version in force and the book as
 * given; `PUT /v1/prices` (admin scope) replaces it — every problem of a bad book comes back in one 422 with its
 * location (`["body", "models", 0, "input_usd_per_mtok"]`), and a refused book changes nothing.
 */
import type { FastifyInstance } from 'fastify';
import { formatPicocents, picocentsToNumber } from '../../../src/money.ts';
import { parseDateParam } from '../../api/dates.ts';
import { isoNanos } from '../../api/trace-tree.ts';
import { MAX_REPRICE_DAYS } from '../../core/limits.ts';
import { DAY_MICROS } from '../../core/time.ts';
import { InputError } from '../../http/errors.ts';
import { errors, READ_ERRORS } from '../../http/schemas.ts';
import type { Store } from '../../store.ts';
import type { StoredBook } from './price-books.ts';
import type { RepriceRun } from './reprice-runs.ts';
import type { Prices } from './service.ts';

const REPRICE_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['start_date', 'end_date'],
  properties: {
    start_date: { type: 'string', description: 'first UTC day (YYYY-MM-DD)' },
    end_date: { type: 'string', description: 'last UTC day, inclusive' },
  },
} as const;

const REPRICE_RESPONSE = {
  type: 'object',
  additionalProperties: false,
  required: ['records', 'changed', 'delta_cents', 'delta_cents_exact', 'allocations'],
  properties: {
    records: { type: 'integer', description: 'collector-priced spans examined' },
    changed: { type: 'integer', description: 'spans whose cost, source or book version changed' },
    delta_cents: { type: 'number' },
    delta_cents_exact: { type: 'string', description: 'total change in span cost, exact' },
    allocations: {
      type: 'object',
      additionalProperties: false,
      description:
        "fixed bills re-allocated over the window's closed UTC days (days retention may have thinned are kept as they are)",
      required: ['days', 'changed', 'delta_cents_exact', 'problems'],
      properties: {
        days: { type: 'integer', description: 'days allocated again' },
        changed: { type: 'integer', description: 'allocation records added, removed or changed' },
        delta_cents_exact: { type: 'string', description: 'total change in allocated cost, exact' },
        problems: { type: 'array', items: { type: 'string' }, description: 'bills not allocated on a day, and why' },
      },
    },
  },
} as const;

const LAST_REPRICE = {
  anyOf: [
    { type: 'null' },
    {
      type: 'object',
      additionalProperties: false,
      required: [
        'state',
        'start_date',
        'end_date',
        'price_version',
        'started_at',
        'finished_at',
        'done_through',
        'records',
        'changed',
        'delta_cents_exact',
      ],
      properties: {
        state: {
          type: 'string',
          enum: ['running', 'finished', 'interrupted'],
          description:
            'interrupted: stopped by a restart or crash before it finished; re-price the same window to complete it',
        },
        start_date: { type: 'string' },
        end_date: { type: 'string' },
        price_version: { type: 'integer' },
        started_at: { type: 'string' },
        finished_at: { type: ['string', 'null'] },
        done_through: { type: ['string', 'null'], description: 'spans that started before this are re-priced' },
        records: { type: 'integer' },
        changed: { type: 'integer' },
        delta_cents_exact: { type: 'string' },
      },
    },
  ],
  description: 'the latest POST /v1/prices/reprice, its progress committed with each chunk',
} as const;

const BOOK_VERSION = {
  type: 'object',
  additionalProperties: false,
  required: ['version', 'created_at', 'origin', 'book'],
  properties: {
    last_reprice: LAST_REPRICE,
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

const day = (micros: bigint) => new Date(Number(micros / 1000n)).toISOString().slice(0, 10);

function repriceShown(last: { run: RepriceRun; running: boolean } | null) {
  if (last === null) return null;
  const { run, running } = last;
  return {
    state: run.finishedAtMicros !== null ? 'finished' : running ? 'running' : 'interrupted',
    start_date: day(run.fromMicros),
    end_date: day(run.toMicros - DAY_MICROS),
    price_version: run.priceVersion,
    started_at: isoNanos(run.startedAtMicros * 1000n),
    finished_at: run.finishedAtMicros === null ? null : isoNanos(run.finishedAtMicros * 1000n),
    done_through: run.doneThroughMicros === null ? null : isoNanos(run.doneThroughMicros * 1000n),
    records: run.records,
    changed: run.changed,
    delta_cents_exact: formatPicocents(run.deltaPicocents),
  };
}

const UNPRICED = {
  type: 'object',
  additionalProperties: false,
  required: ['items'],
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['vendor', 'model', 'reason', 'spans', 'last_seen'],
        properties: {
          vendor: { type: ['string', 'null'] },
          model: { type: ['string', 'null'] },
          reason: {
            type: ['string', 'null'],
            description: 'The most common reason these spans have no price (no usage, unreadable usage, no price)',
          },
          spans: { type: 'integer' },
          last_seen: { type: 'string' },
        },
      },
    },
  },
} as const;

export async function pricesApi(app: FastifyInstance, deps: { prices: Prices; store: Store }): Promise<void> {
  app.get<{ Querystring: { start_date: string; end_date: string; limit: number } }>(
    '/v1/prices/unpriced',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Models that arrived with token usage but no price (add them to the price book)',
        tags: ['prices'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['start_date', 'end_date'],
          properties: {
            start_date: { type: 'string' },
            end_date: { type: 'string' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
          },
        },
        response: { 200: UNPRICED, ...READ_ERRORS },
      },
    },
    async (request) => {
      const q = request.query;
      const fromMicros = parseDateParam(q.start_date, 'start_date');
      const toMicros = parseDateParam(q.end_date, 'end_date') + DAY_MICROS;
      if (toMicros <= fromMicros) {
        throw new InputError([
          { loc: ['query', 'end_date'], msg: 'end_date is before start_date', type: 'value_error' },
        ]);
      }
      const items = await deps.store.unpricedModels(fromMicros, toMicros, q.limit);
      return {
        items: items.map((i) => ({
          vendor: i.vendor,
          model: i.model,
          reason: i.reason,
          spans: i.spans,
          last_seen: isoNanos(i.lastSeenMicros * 1000n),
        })),
      };
    },
  );

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
    async () => ({ ...shown(deps.prices.current()), last_reprice: repriceShown(await deps.prices.lastReprice()) }),
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

  app.post<{ Body: { start_date: string; end_date: string } }>(
    '/v1/prices/reprice',
    {
      config: { scope: 'admin' },
      schema: {
        summary:
          'Re-price collector-priced spans of a window with the book in force (never provided or reported costs)',
        tags: ['prices'],
        body: REPRICE_BODY,
        response: { 200: REPRICE_RESPONSE, ...errors(400, 401, 403, 408, 413, 415, 422, 429, 503) },
      },
    },
    async (request) => {
      const fromMicros = parseDateParam(request.body.start_date, 'start_date', 'body');
      const toMicros = parseDateParam(request.body.end_date, 'end_date', 'body') + DAY_MICROS;
      const days = Number((toMicros - fromMicros) / DAY_MICROS);
      if (days < 1 || days > MAX_REPRICE_DAYS) {
        throw new InputError([
          {
            loc: ['body', 'end_date'],
            msg:
              days < 1 ? 'end_date is before start_date' : `at most ${MAX_REPRICE_DAYS} days per request; got ${days}`,
            type: 'value_error',
          },
        ]);
      }
      const t = await deps.prices.reprice(fromMicros, toMicros);
      return {
        records: t.records,
        changed: t.changed,
        delta_cents: picocentsToNumber(t.deltaPicocents),
        delta_cents_exact: formatPicocents(t.deltaPicocents),
        allocations: {
          days: t.allocations.days,
          changed: t.allocations.changed,
          delta_cents_exact: formatPicocents(t.allocations.deltaPicocents),
          problems: t.allocations.problems,
        },
      };
    },
  );
}
