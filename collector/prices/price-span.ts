/**
 * Prices one span with the price book (CONTRACT.md §8), from standard semantic-convention attributes only, so a
 * span from any language's OpenTelemetry SDK is priced alike. Kinds are tried in order — model (GenAI usage),
 * HTTP client call, database query, span rule — and within a kind the first entry in force at the span's start
 * (`from` ≤ start < `to`) that matches wins. Pure: exact picocents, one half-even rounding per division.
 */
import type { LlmUsage } from '../../src/pricing.ts';
import { type AttributeGetter, dbCall, dbRuleMatches, httpCall, httpRuleMatches } from '../../src/rule-match.ts';
import type { AttributeFilter, Effective, ModelPrice, PriceBook } from './book.ts';

export interface SpanToPrice {
  readonly name: string;
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly get: AttributeGetter;
  /** GenAI token usage on the span, if any (src/pricing.ts usageFromAttributes). */
  readonly usage: LlmUsage | null;
}

export interface BookPrice {
  readonly picocents: bigint;
  /** Which entry priced it, e.g. `models[2]` (kept on the record's attributes for the trace view). */
  readonly rule: string;
}

/** a / b rounded half to even (b > 0). */
export function divideHalfEven(a: bigint, b: bigint): bigint {
  const q = a / b;
  const r = a % b;
  const twice = 2n * (r < 0n ? -r : r);
  if (twice < b || (twice === b && q % 2n === 0n)) return q;
  return a < 0n ? q - 1n : q + 1n;
}

function inForce(e: Effective, startMicros: bigint): boolean {
  return (e.fromMicros === null || startMicros >= e.fromMicros) && (e.toMicros === null || startMicros < e.toMicros);
}

export function priceSpan(book: PriceBook, span: SpanToPrice): BookPrice | null {
  const startMicros = span.startTimeUnixNano / 1000n;
  const durationMicros =
    span.endTimeUnixNano > span.startTimeUnixNano ? (span.endTimeUnixNano - span.startTimeUnixNano) / 1000n : 0n;
  if (span.usage !== null && book.models.length > 0) {
    const i = book.models.findIndex((m) => inForce(m, startMicros) && modelMatches(m, span.usage as LlmUsage));
    if (i >= 0) return { picocents: modelCost(book.models[i] as ModelPrice, span.usage), rule: `models[${i}]` };
  }
  if (book.http.length > 0) {
    const call = httpCall(span.get);
    if (call !== null) {
      const i = book.http.findIndex((h) => inForce(h, startMicros) && httpRuleMatches(h, call));
      const h = book.http[i];
      if (h !== undefined) {
        const picocents =
          h.picocentsPerRequest +
          h.picocentsPerRequestByte * BigInt(call.requestBytes) +
          h.picocentsPerResponseByte * BigInt(call.responseBytes);
        return { picocents, rule: `http[${i}]` };
      }
    }
  }
  if (book.db.length > 0) {
    const call = dbCall(span.get);
    if (call !== null) {
      const i = book.db.findIndex((d) => inForce(d, startMicros) && dbRuleMatches(d, call));
      const d = book.db[i];
      if (d !== undefined) {
        return { picocents: d.picocentsPerQuery + perMs(d.picocentsPerMs, durationMicros), rule: `db[${i}]` };
      }
    }
  }
  const i = book.spans.findIndex(
    (s) =>
      inForce(s, startMicros) && (s.name === null || s.name === span.name) && attributesMatch(s.attributes, span.get),
  );
  const s = book.spans[i];
  if (s !== undefined)
    return { picocents: s.picocentsPerSpan + perMs(s.picocentsPerMs, durationMicros), rule: `spans[${i}]` };
  return null;
}

/** A per-millisecond rate over a duration in µs. */
function perMs(picocentsPerMs: bigint, durationMicros: bigint): bigint {
  return picocentsPerMs === 0n ? 0n : divideHalfEven(picocentsPerMs * durationMicros, 1000n);
}

/**
 * Every filter entry equals the span's attribute. Numbers compare by value, whatever their wire type (int64 arrives
 * as a bigint and is stored as its decimal text, which re-pricing reads back).
 */
export function attributesMatch(filter: AttributeFilter, get: AttributeGetter): boolean {
  for (const [key, want] of filter) {
    const got = get(key);
    if (typeof want === 'number') {
      const n = typeof got === 'string' && /^-?\d+(\.\d+)?$/.test(got) ? Number(got) : got;
      if (!((typeof n === 'number' || typeof n === 'bigint') && Number(n) === want)) return false;
    } else if (got !== want) return false;
  }
  return true;
}

function modelMatches(m: ModelPrice, usage: LlmUsage): boolean {
  if (m.provider !== null && m.provider !== usage.vendor) return false;
  return usage.models.some((name) => (m.match === 'prefix' ? name.startsWith(m.model) : name === m.model));
}

/** Token counts arrive as numbers (a JSON double may carry a fraction): whole tokens. */
function whole(tokens: number): bigint {
  return BigInt(Math.round(Math.max(0, tokens)));
}

/**
 * USD per Mtok × tokens: with rates scaled by 10^12, picocents = Σ(rate × tokens) / 10^4 (× 100 cents per USD,
 * ÷ 10^6 tokens). Uncached input, cache reads and cache writes as the producer reported them (src/llm-usage.ts:
 * each read the way its producer means it), each at its own rate when the book gives one, else at the input rate.
 * A tier (all input tokens strictly above its threshold) replaces the input and output rates for the whole call.
 */
function modelCost(m: ModelPrice, u: LlmUsage): bigint {
  const tier = m.tiers.filter((t) => u.inputTokens > t.aboveInputTokens).at(-1);
  const input = tier?.inputUsdPerMtok12 ?? m.inputUsdPerMtok12;
  const output = tier?.outputUsdPerMtok12 ?? m.outputUsdPerMtok12;
  const numerator =
    input * whole(u.uncachedInputTokens) +
    (m.cachedInputUsdPerMtok12 ?? input) * whole(u.cacheReadTokens) +
    (m.cacheWriteUsdPerMtok12 ?? input) * whole(u.cacheWriteTokens) +
    output * whole(u.outputTokens);
  return divideHalfEven(numerator, 10_000n) + (m.usdPerRequest12 ?? 0n) * 100n;
}
