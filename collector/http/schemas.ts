/**
 * Response and request JSON schemas shared by the routes. fastify serializes each response with its schema,
 * and @fastify/swagger builds the OpenAPI document (`GET /openapi.json`) from the same objects — so the
 * document cannot drift from what the routes send. Money is cents as a number plus an exact decimal string.
 */
import { COST_SOURCES } from '../../src/records.ts';

const nullable = (type: string) => ({ type: [type, 'null'] }) as const;

/** Every error: `{error, message}`; a 422 adds where each problem is (the first 100). */
export const ERROR_BODY = {
  type: 'object',
  description: 'An error. `error` is a short code (not_found, validation_error, too_many_requests, …).',
  required: ['error', 'message'],
  additionalProperties: false,
  properties: {
    error: { type: 'string' },
    message: { type: 'string' },
    detail: {
      type: 'array',
      description: 'For 422: each problem with its location, e.g. ["query","start_date"] (at most 100).',
      items: {
        type: 'object',
        required: ['loc', 'msg', 'type'],
        additionalProperties: false,
        properties: {
          loc: { type: 'array', items: { type: ['string', 'integer'] } },
          msg: { type: 'string' },
          type: { type: 'string' },
        },
      },
    },
  },
} as const;

/** The error responses a route can give, by status. */
export function errors(...statuses: number[]): Record<number, typeof ERROR_BODY> {
  return Object.fromEntries(statuses.map((s) => [s, ERROR_BODY]));
}

/** Errors every read route can answer (auth, bad parameters, store trouble). */
export const READ_ERRORS = errors(401, 403, 422, 503);
/** Errors every write route can answer (plus size, overload and time limits). */
export const WRITE_ERRORS = errors(400, 401, 403, 408, 413, 415, 422, 429, 503);

/** `{deleted: id}`: what a DELETE of a named resource answers. */
export const DELETED_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['deleted'],
  properties: { deleted: { type: 'string' } },
} as const;

/** `{items: [...]}` of one item schema (an unpaginated list). */
export function itemsOf<T>(item: T) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['items'],
    properties: { items: { type: 'array', items: item } },
  } as const;
}

export const PAGINATION = {
  type: 'object',
  required: ['total_count', 'limit', 'offset'],
  additionalProperties: false,
  properties: { total_count: { type: 'integer' }, limit: { type: 'integer' }, offset: { type: 'integer' } },
} as const;

export const STATUS_BODY = {
  type: 'object',
  required: ['status'],
  additionalProperties: false,
  properties: { status: { type: 'string' } },
} as const;

/** One span of a cost trace; `children` nests the same shape (registered once, referenced by id). */
export const TRACE_SPAN = {
  $id: 'TraceSpan',
  type: 'object',
  additionalProperties: false,
  required: ['span_id', 'name', 'subtree_cost', 'subtree_cost_exact', 'children'],
  properties: {
    span_id: { type: 'string' },
    parent_span_id: nullable('string'),
    name: { type: 'string' },
    service_name: nullable('string'),
    start_time: { type: 'string', description: 'RFC 3339 with nanoseconds' },
    start_time_unix_nano: { type: 'string' },
    end_time_unix_nano: { type: 'string' },
    duration_ms: { type: 'number' },
    customer_id: nullable('string'),
    customer_source: { type: ['string', 'null'], enum: ['span', 'ancestor', 'resource', null] },
    attribution_pending: { type: 'boolean' },
    cost: { type: ['number', 'null'], description: 'the span’s own cost, cents' },
    cost_exact: nullable('string'),
    cost_source: { type: ['string', 'null'], enum: [...COST_SOURCES, null] },
    price_version: { type: ['integer', 'null'], description: 'the price book version that priced it (`priced`)' },
    revenue: nullable('number'),
    subtree_cost: { type: 'number' },
    subtree_cost_exact: { type: 'string' },
    attributes: { type: 'object', additionalProperties: true },
    children: { type: 'array', items: { $ref: 'TraceSpan#' } },
  },
} as const;

export const COST_TRACE = {
  type: 'object',
  additionalProperties: false,
  required: ['trace_id', 'total_cost', 'total_cost_exact', 'unattributed_cost', 'span_count', 'spans'],
  properties: {
    trace_id: { type: 'string' },
    customer_id: nullable('string'),
    total_cost: { type: 'number' },
    total_cost_exact: { type: 'string' },
    unattributed_cost: { type: 'number' },
    span_count: { type: 'integer' },
    spans: { type: 'array', items: { $ref: 'TraceSpan#' } },
  },
} as const;

export const TRACE_LIST = {
  type: 'object',
  additionalProperties: false,
  required: ['items', 'pagination'],
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['trace_id', 'cost', 'cost_exact'],
        properties: {
          trace_id: { type: 'string' },
          root_name: nullable('string'),
          start_time: { type: 'string' },
          span_count: { type: 'integer' },
          cost: { type: 'number' },
          cost_exact: { type: 'string' },
          unpriced_spans: {
            type: 'integer',
            description: 'spans of the trace (in the window) whose cost could not be priced',
          },
        },
      },
    },
    pagination: PAGINATION,
  },
} as const;

const METRIC_VALUES = { type: 'object', additionalProperties: { type: 'number' } } as const;

export const METRICS_RESPONSE = {
  type: 'object',
  additionalProperties: false,
  required: ['periods', 'totals', 'metrics'],
  properties: {
    periods: {
      type: 'array',
      items: {
        type: 'object',
        required: ['timestamp'],
        properties: { timestamp: { type: 'string', description: 'period start, ISO 8601 with the zone offset' } },
        additionalProperties: { type: 'number' },
      },
    },
    totals: METRIC_VALUES,
    metrics: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['slug', 'display_name', 'type'],
        properties: {
          slug: { type: 'string' },
          display_name: { type: 'string' },
          type: { type: 'string', enum: ['currency', 'currency_sub_cent', 'scalar', 'percentage'] },
        },
      },
    },
  },
} as const;

export const CUSTOMER_METRICS_RESPONSE = {
  type: 'object',
  additionalProperties: false,
  required: ['items', 'pagination', 'unattributed_costs', 'total_costs'],
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: [
          'customer_id',
          'revenue',
          'costs',
          'profit',
          'ltv',
          'cost_share',
          'costs_exact',
          'allocated_costs',
          'allocated_costs_exact',
        ],
        properties: {
          customer_id: { type: 'string' },
          name: nullable('string'),
          created_at: { type: 'string' },
          revenue: { type: 'number' },
          costs: { type: 'number' },
          profit: { type: 'number' },
          margin: nullable('number'),
          ltv: { type: 'number', description: 'cumulative profit since the customer’s creation' },
          cost_share: { type: 'number' },
          costs_exact: { type: 'string' },
          allocated_costs: {
            type: 'number',
            description: 'the part of `costs` that is fixed bills allocated to the customer (price book `fixed`)',
          },
          allocated_costs_exact: { type: 'string' },
          units: { type: 'number', description: 'with `meter`: the meter’s quantity for the customer in the window' },
          units_exact: { type: 'string' },
          cost_per_unit: {
            ...nullable('number'),
            description: 'with `meter`: costs ÷ units in cents (null when units = 0)',
          },
          cost_per_unit_exact: nullable('string'),
        },
      },
    },
    pagination: PAGINATION,
    unattributed_costs: { type: 'number', description: 'cost in the window no customer could be given' },
    total_costs: { type: 'number' },
  },
} as const;

export const COST_DRIVERS_RESPONSE = {
  type: 'object',
  additionalProperties: false,
  required: ['group_by', 'total_cost', 'quantiles', 'quantile_relative_error', 'groups'],
  properties: {
    group_by: { type: 'string' },
    customer_id: nullable('string'),
    total_cost: { type: 'number' },
    /** How per_trace was computed: exact (quantile_disc over every trace) or sketch (the day index's DDSketch). */
    quantiles: { type: 'string', enum: ['exact', 'sketch'] },
    /** The bound on each per_trace value's relative error (0 when exact). */
    quantile_relative_error: { type: 'number' },
    groups: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['key', 'cost', 'share', 'records', 'traces', 'per_trace', 'outliers'],
        properties: {
          key: nullable('string'),
          cost: { type: 'number' },
          share: { type: 'number' },
          records: { type: 'integer' },
          traces: { type: 'integer' },
          per_trace: {
            type: 'object',
            additionalProperties: false,
            required: ['p50', 'p90', 'p99'],
            properties: { p50: { type: 'number' }, p90: { type: 'number' }, p99: { type: 'number' } },
          },
          outliers: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['trace_id', 'cost'],
              properties: { trace_id: { type: 'string' }, cost: { type: 'number' } },
            },
          },
        },
      },
    },
  },
} as const;

export const CUSTOMER = {
  type: 'object',
  additionalProperties: false,
  required: ['external_id', 'name', 'email', 'created_at'],
  properties: {
    external_id: { type: 'string' },
    name: nullable('string'),
    email: nullable('string'),
    created_at: { type: 'string' },
  },
} as const;

export const CUSTOMER_LIST = {
  type: 'object',
  additionalProperties: false,
  required: ['items', 'pagination'],
  properties: { items: { type: 'array', items: CUSTOMER }, pagination: PAGINATION },
} as const;

/** Polar's EventCreateExternalCustomer batch (validated by collector/events/validate.ts, which reports locations). */
export const EVENTS_BODY = {
  type: 'object',
  required: ['events'],
  properties: {
    events: {
      type: 'array',
      maxItems: 10_000,
      items: {
        type: 'object',
        required: ['name', 'external_customer_id'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 128 },
          external_customer_id: { type: 'string', minLength: 1, maxLength: 256 },
          timestamp: { type: 'string', format: 'date-time' },
          external_id: { type: 'string', maxLength: 256 },
          parent_id: { type: 'string', maxLength: 256 },
          metadata: {
            type: 'object',
            maxProperties: 50,
            description: '`_cost`/`_revenue` = {amount (cents), currency: "usd"}, `_llm` = token usage; else scalars',
          },
        },
      },
    },
  },
} as const;

export const EVENTS_RESPONSE = {
  type: 'object',
  additionalProperties: false,
  required: ['inserted', 'duplicates'],
  properties: { inserted: { type: 'integer' }, duplicates: { type: 'integer' } },
} as const;

/** OTLP/HTTP ExportTraceServiceRequest (JSON shown; protobuf is the same message). Decoded by collector/decode. */
export const OTLP_TRACES_BODY = {
  type: 'object',
  description: 'ExportTraceServiceRequest, as application/x-protobuf or application/json (OTLP/HTTP), gzip allowed',
  properties: { resourceSpans: { type: 'array', items: { type: 'object' } } },
} as const;

export const OTLP_TRACES_RESPONSE = {
  type: 'object',
  description: 'ExportTraceServiceResponse; partialSuccess lists spans rejected one by one',
  properties: {
    partialSuccess: {
      type: 'object',
      properties: { rejectedSpans: { type: 'string' }, errorMessage: { type: 'string' } },
    },
  },
} as const;

/** google.rpc.Status: OTLP failures, in the request's encoding. */
export const OTLP_STATUS = {
  type: 'object',
  required: ['code', 'message'],
  properties: { code: { type: 'integer' }, message: { type: 'string' } },
} as const;
