/**
 * The price book's JSON shape (docs/contract.md §8) as JSON Schema: the one description used to validate a book
 * (file or `PUT /v1/prices`, every problem with its location) and to document it in the OpenAPI document.
 * What a schema cannot say (exact decimals, real dates, `from` before `to`) is checked in book.ts.
 */
import {
  MAX_AMOUNT_TEXT_LENGTH,
  MAX_BOOK_ENTRIES,
  MAX_BOOK_FILTER_KEYS,
  MAX_BOOK_FIXED_BILLS,
  MAX_BOOK_FX_RATES,
  MAX_BOOK_TIERS,
} from '../../core/limits.ts';

/** A decimal amount: a JSON number or a decimal string (exact; at most 12 decimal places). */
/**
 * A decimal amount. The pattern is unambiguous (digits, then an optional fraction that starts with the point), so
 * it runs in linear time: `\\d+\\.?\\d*` backtracked quadratically (an 80 KB amount held the event loop 14 s). The
 * length cap keeps any one amount small (38 digits and the rest fit easily).
 */
const AMOUNT = {
  anyOf: [
    { type: 'number' },
    {
      type: 'string',
      maxLength: MAX_AMOUNT_TEXT_LENGTH,
      pattern: '^\\s*[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?\\s*$',
    },
  ],
} as const;
const DATE = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const;
/** Every entry may say when it applies: UTC days, `to` exclusive; absent = unbounded. */
const WHEN = { from: DATE, to: DATE } as const;
const ATTRIBUTE_FILTER = {
  type: 'object',
  maxProperties: MAX_BOOK_FILTER_KEYS,
  additionalProperties: { type: ['string', 'number', 'boolean'] },
} as const;

const entry = (required: readonly string[], properties: Record<string, unknown>) =>
  ({
    type: 'object',
    additionalProperties: false,
    required,
    properties: { ...properties, ...WHEN },
  }) as const;

export const PRICE_BOOK_SCHEMA = {
  $id: 'PriceBook',
  type: 'object',
  additionalProperties: false,
  properties: {
    models: {
      type: 'array',
      maxItems: MAX_BOOK_ENTRIES,
      items: entry(['model', 'input_usd_per_mtok', 'output_usd_per_mtok'], {
        provider: { type: 'string', minLength: 1 },
        model: { type: 'string', minLength: 1, maxLength: 1024 },
        match: { enum: ['exact', 'prefix'] },
        input_usd_per_mtok: AMOUNT,
        output_usd_per_mtok: AMOUNT,
        cached_input_usd_per_mtok: AMOUNT,
        cache_write_usd_per_mtok: AMOUNT,
        usd_per_request: AMOUNT,
        tiers: {
          type: 'array',
          maxItems: MAX_BOOK_TIERS,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['above_input_tokens', 'input_usd_per_mtok', 'output_usd_per_mtok'],
            properties: {
              above_input_tokens: { type: 'integer', minimum: 0 },
              input_usd_per_mtok: AMOUNT,
              output_usd_per_mtok: AMOUNT,
            },
          },
        },
      }),
    },
    http: {
      type: 'array',
      maxItems: MAX_BOOK_ENTRIES,
      items: entry(['host'], {
        host: { type: 'string', minLength: 1, maxLength: 253 },
        method: { type: 'string', minLength: 1, maxLength: 16 },
        path: { type: 'string', minLength: 1, maxLength: 1024 },
        cents_per_request: AMOUNT,
        cents_per_request_byte: AMOUNT,
        cents_per_response_byte: AMOUNT,
      }),
    },
    db: {
      type: 'array',
      maxItems: MAX_BOOK_ENTRIES,
      items: entry([], {
        system: { type: 'string', minLength: 1 },
        operation: { type: 'string', minLength: 1 },
        cents_per_query: AMOUNT,
        cents_per_ms: AMOUNT,
      }),
    },
    spans: {
      type: 'array',
      maxItems: MAX_BOOK_ENTRIES,
      items: entry([], {
        name: { type: 'string', minLength: 1, maxLength: 1024 },
        attributes: ATTRIBUTE_FILTER,
        cents_per_span: AMOUNT,
        cents_per_ms: AMOUNT,
      }),
    },
    fixed: {
      type: 'array',
      maxItems: MAX_BOOK_FIXED_BILLS,
      items: entry(['name', 'amount_cents', 'period', 'allocate'], {
        name: { type: 'string', minLength: 1, maxLength: 256 },
        amount_cents: AMOUNT,
        currency: { type: 'string', pattern: '^[A-Za-z]{3}$' },
        period: { enum: ['day', 'month'] },
        allocate: {
          type: 'object',
          additionalProperties: false,
          required: ['method'],
          properties: {
            method: { enum: ['even', 'proportional', 'weights'] },
            measure: {
              type: 'object',
              additionalProperties: false,
              required: ['by'],
              properties: { spans: ATTRIBUTE_FILTER, by: { enum: ['count', 'duration_ms', 'cost'] } },
            },
            weights: { type: 'object', maxProperties: 100_000, additionalProperties: { type: 'number', minimum: 0 } },
          },
        },
      }),
    },
    fx: {
      type: 'array',
      maxItems: MAX_BOOK_FX_RATES,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['currency', 'date', 'usd_per_unit'],
        properties: { currency: { type: 'string', pattern: '^[A-Za-z]{3}$' }, date: DATE, usd_per_unit: AMOUNT },
      },
    },
  },
} as const;
