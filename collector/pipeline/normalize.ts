/**
 * Pipeline stage 1+2: decoded OTLP spans → validated SpanRecords, plus the spans rejected one by one
 * (reported as OTLP partial success; the rest of the request is still stored).
 */
import { READING_ATTRIBUTE_KEYS } from '../../src/llm-usage.ts';
import { recordAmountProblem } from '../../src/money.ts';
import type { JsonValue, SpanRecord } from '../../src/records.ts';
import {
  ATTR_COST,
  ATTR_COST_AMOUNT,
  ATTR_COST_CURRENCY,
  ATTR_CUSTOMER_ID,
  ATTR_REVENUE,
  ATTR_REVENUE_AMOUNT,
  ATTR_REVENUE_CURRENCY,
  ATTR_SERVICE_NAME,
  KEPT_ATTRIBUTE_PREFIXES,
} from '../../src/semconv.ts';
import { MAX_ID_LENGTH, MAX_NAME_LENGTH } from '../core/limits.ts';
import type { AttrMap, AttrValue, DecodedSpan } from '../decode/types.ts';
import { originalAmount, toUsd } from '../features/prices/fx.ts';
import { NO_PRICING, type Pricing } from '../features/prices/pricing.ts';
import { type MoneyKeys, type MoneyRead, readMoney } from './money-attributes.ts';
import { callKeyOf, ingestGetter, llmCallOf, llmOf, NOTHING_KEPT, pricedByCollector } from './span-price.ts';

export { collectorCost, type Priced } from './span-price.ts';

export interface Rejection {
  readonly spanId: string;
  readonly reason: string;
}

export interface Normalized {
  readonly records: SpanRecord[];
  readonly rejected: Rejection[];
}

const COST_KEYS: MoneyKeys = {
  object: ATTR_COST,
  amount: ATTR_COST_AMOUNT,
  currency: ATTR_COST_CURRENCY,
  allowNegative: false,
};
const REVENUE_KEYS: MoneyKeys = {
  object: ATTR_REVENUE,
  amount: ATTR_REVENUE_AMOUNT,
  currency: ATTR_REVENUE_CURRENCY,
  allowNegative: true,
};

const TRACE_ID_RE = /^[0-9a-f]{32}$/;
const SPAN_ID_RE = /^[0-9a-f]{16}$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);
const MAX_KEPT_ATTRIBUTES = 64;
const MAX_STRING_LENGTH = 1024;
const MAX_ARRAY_ITEMS = 64;

/** `pricing`: the price book in force (NO_PRICING: none; the bundled model table still prices token usage). */
export function normalizeSpans(spans: readonly DecodedSpan[], pricing: Pricing = NO_PRICING): Normalized {
  const records: SpanRecord[] = [];
  const rejected: Rejection[] = [];
  const resourceCache = new Map<object, { serviceName: string | null; customer: string | null | Error }>();
  for (const span of spans) {
    let res = resourceCache.get(span.resource);
    if (res === undefined) {
      res = {
        serviceName: stringOrNull(span.resource.attributes.get(ATTR_SERVICE_NAME)),
        customer: readCustomer(span.resource.attributes),
      };
      resourceCache.set(span.resource, res);
    }
    const result = normalizeGuarded(span, res.serviceName, res.customer, pricing);
    if (typeof result === 'string') rejected.push({ spanId: span.spanId, reason: result });
    else records.push(result);
  }
  return { records, rejected };
}

/**
 * One span's content never fails its request: a fault while reading it (a shape nobody foresaw) rejects that span
 * alone, reported as partial success, and the rest of the request is stored. Pricing itself never throws
 * (src/pricing.ts: a price that cannot be computed is `unpriced` with its reason), so this is the last line.
 */
function normalizeGuarded(
  span: DecodedSpan,
  serviceName: string | null,
  resourceCustomer: string | null | Error,
  pricing: Pricing,
): SpanRecord | string {
  try {
    return normalizeSpan(span, serviceName, resourceCustomer, pricing);
  } catch (err) {
    return `span could not be read: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300);
  }
}

/** Returns the record, or the reason the span is rejected. */
function normalizeSpan(
  span: DecodedSpan,
  serviceName: string | null,
  resourceCustomer: string | null | Error,
  pricing: Pricing,
): SpanRecord | string {
  if (!TRACE_ID_RE.test(span.traceId) || span.traceId === ZERO_TRACE_ID) {
    return `invalid trace id "${clip(span.traceId)}" (want 32 hex digits, not all zero)`;
  }
  if (!SPAN_ID_RE.test(span.spanId) || span.spanId === ZERO_SPAN_ID) {
    return `invalid span id "${clip(span.spanId)}" (want 16 hex digits, not all zero)`;
  }
  const parent = span.parentSpanId;
  if (parent !== '' && (!SPAN_ID_RE.test(parent) || parent === ZERO_SPAN_ID)) {
    return `invalid parent span id "${clip(parent)}"`;
  }
  if (resourceCustomer instanceof Error) return `resource ${resourceCustomer.message}`;
  const tooLong = longName('name', span.name) ?? longName('scope name', span.scopeName);
  if (tooLong !== null) return tooLong;
  if (serviceName !== null && serviceName.length > MAX_NAME_LENGTH)
    return `resource ${longName(ATTR_SERVICE_NAME, serviceName)}`;
  const customerOwn = readCustomer(span.attributes);
  if (customerOwn instanceof Error) return customerOwn.message;
  const cost = readMoney(span.attributes, COST_KEYS);
  if (cost.kind === 'invalid') return cost.reason;
  const revenue = readMoney(span.attributes, REVENUE_KEYS);
  if (revenue.kind === 'invalid') return revenue.reason;
  const startMicros = span.startTimeUnixNano / 1000n;
  const costUsd = inUsd(cost, COST_KEYS.currency, pricing, startMicros);
  if (typeof costUsd === 'string') return costUsd;
  const revenueUsd = inUsd(revenue, REVENUE_KEYS.currency, pricing, startMicros);
  if (typeof revenueUsd === 'string') return revenueUsd;
  const get = ingestGetter(span.attributes);
  const call = llmCallOf(span.attributes, get, span.scopeName);
  const { priced, kept } =
    costUsd.money.kind === 'ok'
      ? {
          priced: { costPicocents: costUsd.money.picocents, costSource: 'provided' as const, priceVersion: null },
          kept: NOTHING_KEPT,
        }
      : pricedByCollector(span, get, pricing, call);
  const llm = llmOf(get, call);
  // Inferred prices too: absurd token counts must not make a cost no sum can hold.
  const costProblem = priced.costPicocents === null ? null : recordAmountProblem(priced.costPicocents);
  if (costProblem !== null) return `cost ${costProblem}`;
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: parent === '' ? null : parent,
    name: span.name,
    kind: span.kind,
    serviceName,
    scopeName: span.scopeName,
    startTimeUnixNano: span.startTimeUnixNano,
    endTimeUnixNano: span.endTimeUnixNano,
    statusCode: span.statusCode,
    customerOwn,
    resourceCustomer,
    costPicocents: priced.costPicocents,
    costSource: priced.costSource,
    priceVersion: costUsd.converted ? pricing.version : priced.priceVersion,
    revenuePicocents: revenueUsd.money.kind === 'ok' ? revenueUsd.money.picocents : null,
    attributesJson: keptAttributesJson(
      span.attributes,
      costUsd.kept === NOTHING_KEPT && revenueUsd.kept === NOTHING_KEPT && kept === NOTHING_KEPT
        ? NOTHING_KEPT
        : { ...costUsd.kept, ...revenueUsd.kept, ...kept },
      filterKeys(pricing),
    ),
    ...llm,
    llmCall: callKeyOf(call, llm.llmModel, priced, get),
  };
}

/** `customer.id`: a non-empty string (integers are accepted and read as text). */
function readCustomer(attributes: AttrMap): string | null | Error {
  const v = attributes.get(ATTR_CUSTOMER_ID);
  if (v === undefined || v === null || v === '') return null;
  const id = typeof v === 'number' || typeof v === 'bigint' ? String(v) : v;
  if (typeof id !== 'string') return new Error(`${ATTR_CUSTOMER_ID} must be a string`);
  if (id.length > MAX_ID_LENGTH) {
    return new Error(`${ATTR_CUSTOMER_ID} is longer than ${MAX_ID_LENGTH} characters`);
  }
  return id;
}

/**
 * An amount in USD: other currencies converted at the price book's rate for the span's UTC day (features/prices/fx.ts),
 * the original kept as `<prefix>.original_amount`, `.original_currency`, `.usd_per_unit` attributes; no rate →
 * the reason the span is rejected.
 */
function inUsd(
  money: MoneyRead,
  currencyKey: string,
  pricing: Pricing,
  atMicros: bigint,
): { money: MoneyRead; converted: boolean; kept: Record<string, string | boolean> } | string {
  if (money.kind !== 'ok' || money.currency === 'USD') return { money, converted: false, kept: NOTHING_KEPT };
  const fx = toUsd(pricing.book.fx, money.picocents, money.currency, atMicros);
  if (!fx.ok) return `${currencyKey} ${money.currency}: ${fx.reason}`;
  const tooLarge = recordAmountProblem(fx.usdPicocents);
  if (tooLarge !== null) return `${currencyKey} ${money.currency}: in USD ${tooLarge}`;
  const prefix = currencyKey.slice(0, currencyKey.lastIndexOf('.'));
  const kept = Object.fromEntries(
    Object.entries(originalAmount(money.picocents, money.currency, fx.usdPerUnit12)).map(([k, v]) => [
      `${prefix}.${k}`,
      v,
    ]),
  );
  return { money: { kind: 'ok', picocents: fx.usdPicocents, currency: 'USD' }, converted: true, kept };
}

const filterKeysByBook = new WeakMap<object, ReadonlySet<string>>();

/** Attribute keys the price book filters on (span rules, allocation measures): kept so re-pricing can match. */
function filterKeys(pricing: Pricing): ReadonlySet<string> {
  let keys = filterKeysByBook.get(pricing.book);
  if (keys === undefined) {
    const all = [
      ...pricing.book.spans.map((s) => s.attributes),
      ...pricing.book.fixed.map((f) => f.measure?.spans ?? []),
    ];
    keys = new Set(all.flatMap((filter) => filter.map(([k]) => k)));
    filterKeysByBook.set(pricing.book, keys);
  }
  return keys;
}

function keptAttributesJson(
  attributes: AttrMap,
  extra: Record<string, string | boolean>,
  alsoKept: ReadonlySet<string>,
): string {
  let out = '';
  let count = 0;
  for (const [key, value] of attributes) {
    // What the readings use is always kept, beyond the cap (prompts may fill it first): re-pricing and Polar
    // forwarding must read the stored span as ingest read it.
    const reading = READING_ATTRIBUTE_KEYS.has(key);
    if (!reading && count >= MAX_KEPT_ATTRIBUTES) continue;
    let prefix = keptKeyJson(key);
    if (prefix === null) {
      if (!reading && !alsoKept.has(key)) continue;
      prefix = `${JSON.stringify(key)}:`;
    }
    out += `${out === '' ? '' : ','}${prefix}${valueJson(value)}`;
    if (!reading) count++;
  }
  for (const key in extra) {
    out += `${out === '' ? '' : ','}${JSON.stringify(key)}:${JSON.stringify(extra[key])}`;
  }
  return `{${out}}`;
}

/**
 * Keys repeat across spans, so whether a key is kept (by prefix) and its JSON text are remembered: `"key":`, or
 * null when not kept. Bounded (forgotten whole when full: random keys cost memory nobody keeps).
 */
const keyJsonCache = new Map<string, string | null>();
const KEY_CACHE_LIMIT = 4096;

function keptKeyJson(key: string): string | null {
  let json = keyJsonCache.get(key);
  if (json === undefined) {
    json = isKept(key) ? `${JSON.stringify(key)}:` : null;
    if (keyJsonCache.size >= KEY_CACHE_LIMIT) keyJsonCache.clear();
    keyJsonCache.set(key, json);
  }
  return json;
}

/** A value's JSON text; scalars directly (the common case), structures through toJson. */
function valueJson(v: AttrValue): string {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'string' && v.length <= MAX_STRING_LENGTH) return JSON.stringify(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return JSON.stringify(toJson(v, 0));
}

function isKept(key: string): boolean {
  for (const prefix of KEPT_ATTRIBUTE_PREFIXES) if (key.startsWith(prefix)) return true;
  return false;
}

function toJson(v: AttrValue, depth: number): JsonValue {
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'string') return v.length > MAX_STRING_LENGTH ? `${v.slice(0, MAX_STRING_LENGTH)}…` : v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (depth > 4) return null;
  if (Array.isArray(v)) return v.slice(0, MAX_ARRAY_ITEMS).map((x) => toJson(x, depth + 1));
  const obj: Record<string, JsonValue> = {};
  for (const [k, x] of v) Object.defineProperty(obj, k, { value: toJson(x, depth + 1), enumerable: true });
  return obj;
}

function stringOrNull(v: AttrValue | undefined): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function longName(what: string, value: string): string | null {
  return value.length > MAX_NAME_LENGTH ? `${what} is longer than ${MAX_NAME_LENGTH} characters` : null;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
