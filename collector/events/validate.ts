/**
 * Validation of `POST /v1/events/ingest` bodies (docs/contract.md §3, Polar's EventCreateExternalCustomer).
 * Every problem of every event is collected with its location (`["body","events",3,"metadata","_cost",
 * "amount"]`); any problem rejects the whole batch. Pure: the clock is passed in.
 *
 * Where we differ from Polar on purpose (its known faults): currency is `usd` (any case), or another ISO 4217 code
 * converted with the price book's rate for the event's UTC day (original kept as `_cost.original_*` metadata; no
 * rate → 422); cost must not be negative; amounts have no 5-integer-digit ceiling (DECIMAL(38,12)) and stay exact.
 */
import { type Picocents, parseAmount, recordAmountProblem } from '../../src/money.ts';
import { canonicalText } from '../../src/text.ts';
import {
  MAX_EVENTS_PER_REQUEST,
  MAX_ID_LENGTH,
  MAX_METADATA_KEY_LENGTH,
  MAX_METADATA_KEYS,
  MAX_TIME_UNIX_NANO,
} from '../core/limits.ts';
import type { FxRate } from '../features/prices/book.ts';
import { originalAmount, toUsd } from '../features/prices/fx.ts';

export interface ValidationIssue {
  readonly loc: Array<string | number>;
  readonly msg: string;
  readonly type: string;
}

export interface LlmMetadata {
  readonly vendor: string;
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly totalTokens: number;
  readonly cachedInputTokens: number | null;
}

export interface EventInput {
  readonly name: string;
  readonly customerExternalId: string;
  readonly timestampMicros: bigint;
  readonly externalId: string | null;
  readonly parentId: string | null;
  readonly costPicocents: Picocents | null;
  readonly revenuePicocents: Picocents | null;
  readonly llm: LlmMetadata | null;
  /** Other metadata (scalars), as stored. */
  readonly metadataJson: string;
}

/** Polar's limits for event names and metadata strings. */
export const MAX_NAME_LENGTH = 128;
export const MAX_METADATA_STRING_LENGTH = 500;
/** Client clocks drift: a timestamp up to this far ahead of ours is not "in the future". */
export const FUTURE_TOLERANCE_MICROS = 60_000_000n;

const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

type Obj = Record<string, unknown>;

export function validateEventBatch(
  body: unknown,
  nowMicros: bigint,
  /** The price book's FX rates (none: only usd is accepted). */
  fx: readonly FxRate[] = [],
): { ok: true; events: EventInput[] } | { ok: false; issues: ValidationIssue[] } {
  const issues: ValidationIssue[] = [];
  if (!isObject(body)) return fail(['body'], 'must be an object {"events": [...]}', 'type_error');
  const list = body.events;
  if (!Array.isArray(list)) return fail(['body', 'events'], 'must be a list of events', 'type_error');
  if (list.length > MAX_EVENTS_PER_REQUEST) {
    return fail(
      ['body', 'events'],
      `at most ${MAX_EVENTS_PER_REQUEST} events per request; got ${list.length}`,
      'too_long',
    );
  }
  const events: EventInput[] = [];
  list.forEach((raw, i) => {
    const e = validateEvent(raw, ['body', 'events', i], nowMicros, fx, issues);
    if (e) events.push(e);
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, events };
}

function validateEvent(
  raw: unknown,
  at: Array<string | number>,
  nowMicros: bigint,
  fx: readonly FxRate[],
  issues: ValidationIssue[],
) {
  const before = issues.length;
  const add = (path: Array<string | number>, msg: string, type = 'value_error') =>
    issues.push({ loc: [...at, ...path], msg, type });
  if (!isObject(raw)) {
    add([], 'must be an object', 'type_error');
    return null;
  }
  const name = requiredString(raw.name, ['name'], MAX_NAME_LENGTH, add);
  const customer = requiredString(raw.external_customer_id, ['external_customer_id'], MAX_ID_LENGTH, add);
  if (raw.customer_id !== undefined) {
    add(['customer_id'], 'customers are identified by external_customer_id here');
  }
  const externalId = optionalString(raw.external_id, ['external_id'], MAX_ID_LENGTH, add);
  const parentId = optionalString(raw.parent_id, ['parent_id'], MAX_ID_LENGTH, add);
  let timestampMicros = nowMicros;
  if (raw.timestamp !== undefined && raw.timestamp !== null) {
    const t = parseTimestamp(raw.timestamp);
    if (t === null) add(['timestamp'], TIMESTAMP_FORMAT, 'datetime_parsing');
    else if (t > nowMicros + FUTURE_TOLERANCE_MICROS) add(['timestamp'], 'must not be in the future');
    else timestampMicros = t;
  }
  let costPicocents: Picocents | null = null;
  let revenuePicocents: Picocents | null = null;
  let llm: LlmMetadata | null = null;
  const other: Obj = {};
  if (raw.metadata !== undefined && raw.metadata !== null) {
    if (!isObject(raw.metadata)) add(['metadata'], 'must be an object', 'type_error');
    else {
      const entries = Object.entries(raw.metadata);
      if (entries.length > MAX_METADATA_KEYS)
        add(['metadata'], `at most ${MAX_METADATA_KEYS} keys; got ${entries.length}`);
      for (const [rawKey, value] of entries.slice(0, MAX_METADATA_KEYS)) {
        const key = canonicalText(rawKey);
        const path = ['metadata', key];
        if (key.length > MAX_METADATA_KEY_LENGTH) {
          add(path, `keys are at most ${MAX_METADATA_KEY_LENGTH} characters`);
          continue;
        }
        const inUsd = (m: { picocents: Picocents; currency: string } | null): Picocents | null => {
          if (m === null || m.currency === 'USD') return m?.picocents ?? null;
          const converted = toUsd(fx, m.picocents, m.currency, timestampMicros);
          if (!converted.ok) {
            add([...path, 'currency'], converted.reason);
            return null;
          }
          const tooLarge = recordAmountProblem(converted.usdPicocents);
          if (tooLarge !== null) {
            add([...path, 'amount'], `in USD ${tooLarge}`);
            return null;
          }
          for (const [k, v] of Object.entries(originalAmount(m.picocents, m.currency, converted.usdPerUnit12))) {
            Object.defineProperty(other, `${key}.${k}`, { value: v, enumerable: true });
          }
          return converted.usdPicocents;
        };
        if (key === '_cost') costPicocents = inUsd(money(value, path, false, add));
        else if (key === '_revenue') revenuePicocents = inUsd(money(value, path, true, add));
        else if (key === '_llm') llm = llmMetadata(value, path, add);
        else if (typeof value === 'string') {
          if (value.length === 0 || value.length > MAX_METADATA_STRING_LENGTH) {
            add(path, `must be 1 to ${MAX_METADATA_STRING_LENGTH} characters`);
          } else Object.defineProperty(other, key, { value: canonicalText(value), enumerable: true });
        } else if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') {
          Object.defineProperty(other, key, { value, enumerable: true });
        } else add(path, 'must be a string, a finite number or a boolean', 'type_error');
      }
    }
  }
  if (issues.length > before || name === null || customer === null) return null;
  return {
    name,
    customerExternalId: customer,
    timestampMicros,
    externalId,
    parentId,
    costPicocents,
    revenuePicocents,
    llm,
    metadataJson: JSON.stringify(other),
  };
}

type Add = (path: Array<string | number>, msg: string, type?: string) => void;

/** An amount and its currency (upper case), or null after recording the problems. */
function money(
  value: unknown,
  path: Array<string | number>,
  allowNegative: boolean,
  add: Add,
): { picocents: Picocents; currency: string } | null {
  if (!isObject(value)) {
    add(path, 'must be an object {amount, currency}', 'type_error');
    return null;
  }
  const currency = value.currency;
  if (typeof currency !== 'string' || !/^[A-Za-z]{3}$/.test(currency)) {
    add([...path, 'currency'], 'must be a currency code ("usd", or one with an fx rate in the price book)');
    return null;
  }
  const parsed = parseAmount(value.amount);
  if (!parsed.ok) {
    add([...path, 'amount'], value.amount === undefined ? 'is required' : parsed.reason);
    return null;
  }
  if (!allowNegative && parsed.picocents < 0n) {
    add([...path, 'amount'], 'must not be negative');
    return null;
  }
  const problem = recordAmountProblem(parsed.picocents);
  if (problem !== null) {
    add([...path, 'amount'], problem);
    return null;
  }
  return { picocents: parsed.picocents, currency: currency.toUpperCase() };
}

function llmMetadata(value: unknown, path: Array<string | number>, add: Add): LlmMetadata | null {
  if (!isObject(value)) {
    add(path, 'must be an object', 'type_error');
    return null;
  }
  const vendor = requiredString(value.vendor, [...path, 'vendor'], MAX_METADATA_STRING_LENGTH, add);
  const model = requiredString(value.model, [...path, 'model'], MAX_METADATA_STRING_LENGTH, add);
  const count = (key: string, required: boolean): number | null => {
    const v = value[key];
    if (v === undefined || v === null) {
      if (required) add([...path, key], 'is required', 'missing');
      return null;
    }
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      add([...path, key], 'must be a non-negative integer');
      return null;
    }
    return v;
  };
  const inputTokens = count('input_tokens', true);
  const outputTokens = count('output_tokens', true);
  const totalTokens = count('total_tokens', true);
  const cachedInputTokens = count('cached_input_tokens', false);
  for (const key of ['prompt', 'response']) {
    if (value[key] !== undefined && value[key] !== null && typeof value[key] !== 'string') {
      add([...path, key], 'must be a string', 'type_error');
    }
  }
  if (vendor === null || model === null || inputTokens === null || outputTokens === null || totalTokens === null) {
    return null;
  }
  return { vendor, model, inputTokens, outputTokens, totalTokens, cachedInputTokens };
}

function requiredString(v: unknown, path: Array<string | number>, max: number, add: Add): string | null {
  if (v === undefined || v === null) {
    add(path, 'is required', 'missing');
    return null;
  }
  if (typeof v !== 'string' || v.length === 0 || v.length > max) {
    add(path, `must be a string of 1 to ${max} characters`);
    return null;
  }
  return canonicalText(v);
}

function optionalString(v: unknown, path: Array<string | number>, max: number, add: Add): string | null {
  if (v === undefined || v === null) return null;
  return requiredString(v, path, max, add);
}

export const TIMESTAMP_FORMAT =
  'must be an ISO-8601 date-time with a time zone, a real calendar date and time, from 1970 to 2554-07-21';
const MAX_TIME_MICROS = MAX_TIME_UNIX_NANO / 1000n;

/**
 * ISO-8601 with an explicit zone (Polar requires aware datetimes) → µs since epoch, or null. The fields must
 * name a real date and time (no 2024-02-30, no 24:00) and the instant must be storable (1970 up to 2^64 ns).
 */
export function parseTimestamp(v: unknown): bigint | null {
  if (typeof v !== 'string' || !ISO_RE.test(v)) return null;
  const [, y, mo, d, h, mi, sec] = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(v) ?? [];
  const fields = [y, mo, d, h, mi, sec ?? '0'].map(Number) as [number, number, number, number, number, number];
  const [year, month, day, hour, minute, second] = fields;
  const civil = new Date(Date.UTC(year, month - 1, day));
  if (civil.getUTCFullYear() !== year || civil.getUTCMonth() !== month - 1 || civil.getUTCDate() !== day) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  const fraction = /\.(\d{1,9})/.exec(v)?.[1] ?? '';
  // Whole seconds through Date.parse (offsets normalized to ±HH:MM), the fraction added exactly.
  const ms = Date.parse(v.replace(/\.\d{1,9}/, '').replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  if (Number.isNaN(ms)) return null;
  const micros = BigInt(ms) * 1000n + BigInt(fraction.padEnd(6, '0').slice(0, 6) || '0');
  return micros < 0n || micros > MAX_TIME_MICROS ? null : micros;
}

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(loc: Array<string | number>, msg: string, type: string) {
  return { ok: false as const, issues: [{ loc, msg, type }] };
}
