/**
 * The price book (docs/contract.md §8): parsed from JSON into exact values, or refused with every problem and its
 * location. Structure is checked by the JSON Schema (book-schema.ts, with Ajv); the rest here: exact decimals
 * (at most 12 decimal places, never negative prices), real calendar days, `from` before `to`, an allocation's
 * measure or weights, one FX rate per currency and day, a rate for every non-USD bill.
 *
 * Units: per-token model prices are kept as USD per million tokens scaled by 10^12 (`usdPerMtok12`), so a cost
 * in picocents is `usdPerMtok12 × tokens / 10^4` (one division, half-even); HTTP/DB/span prices are picocents.
 */
import { Ajv } from 'ajv';
import { parseAmount } from '../../../src/money.ts';
import { DAY_MICROS } from '../../core/time.ts';
import { parseCivilDate } from '../../metrics/calendar.ts';
import { PRICE_BOOK_SCHEMA } from './book-schema.ts';

export type Location = ReadonlyArray<string | number>;
export interface BookProblem {
  readonly loc: Location;
  readonly msg: string;
}

/** When an entry applies: UTC µs, `from` inclusive, `to` exclusive; null = unbounded. */
export interface Effective {
  readonly fromMicros: bigint | null;
  readonly toMicros: bigint | null;
}

export interface ModelTier {
  readonly aboveInputTokens: number;
  readonly inputUsdPerMtok12: bigint;
  readonly outputUsdPerMtok12: bigint;
}

export interface ModelPrice extends Effective {
  readonly provider: string | null;
  readonly model: string;
  readonly match: 'exact' | 'prefix';
  readonly inputUsdPerMtok12: bigint;
  readonly outputUsdPerMtok12: bigint;
  readonly cachedInputUsdPerMtok12: bigint | null;
  readonly cacheWriteUsdPerMtok12: bigint | null;
  readonly usdPerRequest12: bigint | null;
  /** Ascending by threshold. */
  readonly tiers: readonly ModelTier[];
}

export interface HttpPrice extends Effective {
  readonly host: string;
  readonly method: string | null;
  readonly path: string | null;
  readonly picocentsPerRequest: bigint;
  readonly picocentsPerRequestByte: bigint;
  readonly picocentsPerResponseByte: bigint;
}

export interface DbPrice extends Effective {
  readonly system: string | null;
  readonly operation: string | null;
  readonly picocentsPerQuery: bigint;
  readonly picocentsPerMs: bigint;
}

export type AttributeFilter = ReadonlyArray<readonly [string, string | number | boolean]>;

export interface SpanPrice extends Effective {
  readonly name: string | null;
  readonly attributes: AttributeFilter;
  readonly picocentsPerSpan: bigint;
  readonly picocentsPerMs: bigint;
}

export interface FixedBill extends Effective {
  readonly name: string;
  /** In `currency` units of 10^-12 cents. */
  readonly amountPicocents: bigint;
  readonly currency: string;
  readonly period: 'day' | 'month';
  readonly method: 'even' | 'proportional' | 'weights';
  readonly measure: { readonly spans: AttributeFilter; readonly by: 'count' | 'duration_ms' | 'cost' } | null;
  /** Customer id → weight, exact, scaled by 10^12. */
  readonly weights: ReadonlyMap<string, bigint>;
}

export interface FxRate {
  /** Upper case ISO 4217. */
  readonly currency: string;
  readonly dayMicros: bigint;
  /** USD per unit, scaled by 10^12. */
  readonly usdPerUnit12: bigint;
}

export interface PriceBook {
  readonly models: readonly ModelPrice[];
  readonly http: readonly HttpPrice[];
  readonly db: readonly DbPrice[];
  readonly spans: readonly SpanPrice[];
  readonly fixed: readonly FixedBill[];
  readonly fx: readonly FxRate[];
}

export const EMPTY_BOOK: PriceBook = { models: [], http: [], db: [], spans: [], fixed: [], fx: [] };

export type BookParse = { ok: true; book: PriceBook } | { ok: false; problems: BookProblem[] };

const validate = new Ajv({ allErrors: true, strict: false }).compile(PRICE_BOOK_SCHEMA);

/** Parses a book (already JSON-decoded); every problem is reported, with its location in the book. */
export function parsePriceBook(input: unknown): BookParse {
  if (!validate(input)) {
    // Structure first (the checks of meaning need a well-formed book). An amount that is neither a number nor a
    // decimal string fails each `anyOf` branch too: report it once.
    return {
      ok: false,
      problems: (validate.errors ?? [])
        .filter((e) => !e.schemaPath.includes('/anyOf/'))
        .map((e) => ({
          loc: pointerToLoc(e.instancePath, e.params as Record<string, unknown>),
          msg: e.keyword === 'anyOf' ? 'must be a number or a decimal string' : (e.message ?? 'is invalid'),
        })),
    };
  }
  const reader = new Reader();
  const raw = input as RawBook;
  const book: PriceBook = {
    models: (raw.models ?? []).map((m, i) => reader.model(m, ['models', i])),
    http: (raw.http ?? []).map((h, i) => reader.http(h, ['http', i])),
    db: (raw.db ?? []).map((d, i) => reader.db(d, ['db', i])),
    spans: (raw.spans ?? []).map((s, i) => reader.span(s, ['spans', i])),
    fixed: (raw.fixed ?? []).map((f, i) => reader.fixed(f, ['fixed', i])),
    fx: (raw.fx ?? []).map((r, i) => reader.fx(r, ['fx', i])),
  };
  reader.crossChecks(book);
  return reader.problems.length > 0 ? { ok: false, problems: reader.problems } : { ok: true, book };
}

function pointerToLoc(pointer: string, params: Record<string, unknown>): Location {
  const parts: Array<string | number> = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  // A missing or unknown property is reported on its parent by Ajv: name it.
  const named = params.missingProperty ?? params.additionalProperty;
  if (typeof named === 'string') parts.push(named);
  return parts;
}

type Amount = number | string;
interface RawEffective {
  from?: string;
  to?: string;
}
interface RawBook {
  models?: Array<
    RawEffective & {
      provider?: string;
      model: string;
      match?: 'exact' | 'prefix';
      input_usd_per_mtok: Amount;
      output_usd_per_mtok: Amount;
      cached_input_usd_per_mtok?: Amount;
      cache_write_usd_per_mtok?: Amount;
      usd_per_request?: Amount;
      tiers?: Array<{ above_input_tokens: number; input_usd_per_mtok: Amount; output_usd_per_mtok: Amount }>;
    }
  >;
  http?: Array<
    RawEffective & {
      host: string;
      method?: string;
      path?: string;
      cents_per_request?: Amount;
      cents_per_request_byte?: Amount;
      cents_per_response_byte?: Amount;
    }
  >;
  db?: Array<RawEffective & { system?: string; operation?: string; cents_per_query?: Amount; cents_per_ms?: Amount }>;
  spans?: Array<
    RawEffective & {
      name?: string;
      attributes?: Record<string, string | number | boolean>;
      cents_per_span?: Amount;
      cents_per_ms?: Amount;
    }
  >;
  fixed?: Array<
    RawEffective & {
      name: string;
      amount_cents: Amount;
      currency?: string;
      period: 'day' | 'month';
      allocate: {
        method: 'even' | 'proportional' | 'weights';
        measure?: { spans?: Record<string, string | number | boolean>; by: 'count' | 'duration_ms' | 'cost' };
        weights?: Record<string, number>;
      };
    }
  >;
  fx?: Array<{ currency: string; date: string; usd_per_unit: Amount }>;
}

/** Reads entries into exact values, collecting problems instead of stopping at the first. */
class Reader {
  readonly problems: BookProblem[] = [];

  private problem(loc: Location, msg: string): void {
    this.problems.push({ loc, msg });
  }

  /** A non-negative exact amount (scaled by 10^12), or 0n after recording the problem. */
  private amount(value: Amount | undefined, loc: Location, allowNegative = false): bigint {
    if (value === undefined) return 0n;
    const parsed = parseAmount(value);
    if (!parsed.ok) {
      this.problem(loc, parsed.reason);
      return 0n;
    }
    if (!allowNegative && parsed.picocents < 0n) this.problem(loc, 'must not be negative');
    return parsed.picocents;
  }

  private optionalAmount(value: Amount | undefined, loc: Location): bigint | null {
    return value === undefined ? null : this.amount(value, loc);
  }

  private day(value: string, loc: Location): bigint | null {
    const d = parseCivilDate(value);
    if (d === null) {
      this.problem(loc, `"${value}" is not a real day (YYYY-MM-DD, 1970-01-01..2554-07-21)`);
      return null;
    }
    return BigInt(Date.UTC(d.y, d.m - 1, d.d) / 86_400_000) * DAY_MICROS;
  }

  private effective(e: RawEffective, loc: Location): Effective {
    const fromMicros = e.from === undefined ? null : this.day(e.from, [...loc, 'from']);
    const toMicros = e.to === undefined ? null : this.day(e.to, [...loc, 'to']);
    if (fromMicros !== null && toMicros !== null && toMicros <= fromMicros) {
      this.problem([...loc, 'to'], '`to` must be after `from` (it is exclusive)');
    }
    return { fromMicros, toMicros };
  }

  model(m: NonNullable<RawBook['models']>[number], loc: Location): ModelPrice {
    const tiers = (m.tiers ?? []).map((t, i) => ({
      aboveInputTokens: t.above_input_tokens,
      inputUsdPerMtok12: this.amount(t.input_usd_per_mtok, [...loc, 'tiers', i, 'input_usd_per_mtok']),
      outputUsdPerMtok12: this.amount(t.output_usd_per_mtok, [...loc, 'tiers', i, 'output_usd_per_mtok']),
    }));
    const thresholds = new Set(tiers.map((t) => t.aboveInputTokens));
    if (thresholds.size !== tiers.length) this.problem([...loc, 'tiers'], 'two tiers have the same above_input_tokens');
    return {
      ...this.effective(m, loc),
      provider: m.provider?.toLowerCase() ?? null,
      model: m.model,
      match: m.match ?? 'exact',
      inputUsdPerMtok12: this.amount(m.input_usd_per_mtok, [...loc, 'input_usd_per_mtok']),
      outputUsdPerMtok12: this.amount(m.output_usd_per_mtok, [...loc, 'output_usd_per_mtok']),
      cachedInputUsdPerMtok12: this.optionalAmount(m.cached_input_usd_per_mtok, [...loc, 'cached_input_usd_per_mtok']),
      cacheWriteUsdPerMtok12: this.optionalAmount(m.cache_write_usd_per_mtok, [...loc, 'cache_write_usd_per_mtok']),
      usdPerRequest12: this.optionalAmount(m.usd_per_request, [...loc, 'usd_per_request']),
      tiers: tiers.sort((a, b) => a.aboveInputTokens - b.aboveInputTokens),
    };
  }

  http(h: NonNullable<RawBook['http']>[number], loc: Location): HttpPrice {
    return {
      ...this.effective(h, loc),
      host: h.host.toLowerCase(),
      method: h.method?.toUpperCase() ?? null,
      path: h.path ?? null,
      picocentsPerRequest: this.amount(h.cents_per_request, [...loc, 'cents_per_request']),
      picocentsPerRequestByte: this.amount(h.cents_per_request_byte, [...loc, 'cents_per_request_byte']),
      picocentsPerResponseByte: this.amount(h.cents_per_response_byte, [...loc, 'cents_per_response_byte']),
    };
  }

  db(d: NonNullable<RawBook['db']>[number], loc: Location): DbPrice {
    return {
      ...this.effective(d, loc),
      system: d.system?.toLowerCase() ?? null,
      operation: d.operation?.toUpperCase() ?? null,
      picocentsPerQuery: this.amount(d.cents_per_query, [...loc, 'cents_per_query']),
      picocentsPerMs: this.amount(d.cents_per_ms, [...loc, 'cents_per_ms']),
    };
  }

  span(s: NonNullable<RawBook['spans']>[number], loc: Location): SpanPrice {
    if (s.name === undefined && s.attributes === undefined) {
      this.problem(loc, 'a span rule needs a `name` or an `attributes` filter (it would price every span)');
    }
    return {
      ...this.effective(s, loc),
      name: s.name ?? null,
      attributes: Object.entries(s.attributes ?? {}),
      picocentsPerSpan: this.amount(s.cents_per_span, [...loc, 'cents_per_span']),
      picocentsPerMs: this.amount(s.cents_per_ms, [...loc, 'cents_per_ms']),
    };
  }

  fixed(f: NonNullable<RawBook['fixed']>[number], loc: Location): FixedBill {
    const { method, measure, weights } = f.allocate;
    if (method === 'proportional' && measure === undefined) {
      this.problem([...loc, 'allocate', 'measure'], 'proportional allocation needs a measure ({"by": ...})');
    }
    if (method === 'weights' && (weights === undefined || Object.keys(weights).length === 0)) {
      this.problem([...loc, 'allocate', 'weights'], 'weights allocation needs weights per customer id');
    }
    if (method !== 'weights' && weights !== undefined) {
      this.problem([...loc, 'allocate', 'weights'], `weights apply only to method "weights", not "${method}"`);
    }
    return {
      ...this.effective(f, loc),
      name: f.name,
      amountPicocents: this.amount(f.amount_cents, [...loc, 'amount_cents']),
      currency: (f.currency ?? 'usd').toUpperCase(),
      period: f.period,
      method,
      measure: measure === undefined ? null : { spans: Object.entries(measure.spans ?? {}), by: measure.by },
      weights: new Map(
        Object.entries(weights ?? {}).map(([id, w]) => [id, this.amount(w, [...loc, 'allocate', 'weights', id])]),
      ),
    };
  }

  fx(r: NonNullable<RawBook['fx']>[number], loc: Location): FxRate {
    const currency = r.currency.toUpperCase();
    if (currency === 'USD') this.problem([...loc, 'currency'], 'amounts are stored in USD; a USD rate is always 1');
    const usdPerUnit12 = this.amount(r.usd_per_unit, [...loc, 'usd_per_unit']);
    if (usdPerUnit12 === 0n) this.problem([...loc, 'usd_per_unit'], 'must be greater than 0');
    return { currency, dayMicros: this.day(r.date, [...loc, 'date']) ?? 0n, usdPerUnit12 };
  }

  crossChecks(book: PriceBook): void {
    const seen = new Map<string, number>();
    book.fx.forEach((r, i) => {
      const key = `${r.currency} ${r.dayMicros}`;
      const before = seen.get(key);
      if (before !== undefined)
        this.problem(['fx', i], `a second rate for ${r.currency} on the same day as fx[${before}]`);
      else seen.set(key, i);
    });
    // Allocations are keyed by bill name and day: two bills of one name must not be in force on the same day.
    book.fixed.forEach((f, i) => {
      book.fixed.slice(0, i).forEach((g, j) => {
        if (g.name === f.name && overlaps(f, g)) {
          this.problem(['fixed', i, 'name'], `"${f.name}" is also the name of fixed[${j}], in force at the same time`);
        }
      });
    });
    const currencies = new Set(book.fx.map((r) => r.currency));
    book.fixed.forEach((f, i) => {
      if (f.currency !== 'USD' && !currencies.has(f.currency)) {
        this.problem(['fixed', i, 'currency'], `no fx rate for ${f.currency} in the book`);
      }
    });
  }
}

function overlaps(a: Effective, b: Effective): boolean {
  const startsBeforeEnd = (x: Effective, y: Effective) =>
    x.fromMicros === null || y.toMicros === null || x.fromMicros < y.toMicros;
  return startsBeforeEnd(a, b) && startsBeforeEnd(b, a);
}
