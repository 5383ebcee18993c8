/**
 * Prices one span with the price book (docs/contract.md §8), from standard semantic-convention attributes only, so a
 * span from any language's OpenTelemetry SDK is priced alike. Kinds are tried in order — model (GenAI usage),
 * HTTP client call, database query, span rule — and within a kind the first entry in force at the span's start
 * (`from` ≤ start < `to`) that matches wins, found through the book's index (book-index.ts) rather than a scan of
 * every entry. Pure: exact picocents, one half-even rounding per division.
 */
import type { LlmUsage } from '../../../src/pricing.ts';
import { type AttributeGetter, dbCall, dbRuleMatches, httpCall, httpRuleMatches } from '../../../src/rule-match.ts';
import type { AttributeFilter, DbPrice, Effective, HttpPrice, ModelPrice, PriceBook, SpanPrice } from './book.ts';
import { type BookIndex, firstMatch, indexOf, spanValueKeys } from './book-index.ts';

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
  const index = indexOf(book);
  const usage = span.usage;
  if (usage !== null && book.models.length > 0) {
    const i = firstMatch(modelCandidates(index, usage), (k) => {
      const m = book.models[k] as ModelPrice;
      return inForce(m, startMicros) && modelMatches(m, usage);
    });
    if (i >= 0) return { picocents: modelCost(book.models[i] as ModelPrice, usage), rule: `models[${i}]` };
  }
  if (book.http.length > 0) {
    const call = httpCall(span.get);
    if (call !== null) {
      const i = firstMatch(hostCandidates(index, call.host), (k) => {
        const h = book.http[k] as HttpPrice;
        return inForce(h, startMicros) && httpRuleMatches(h, call);
      });
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
      const lists = [index.db.bySystem.get(call.system.toLowerCase()), index.db.anySystem];
      const i = firstMatch(lists, (k) => {
        const d = book.db[k] as DbPrice;
        return inForce(d, startMicros) && dbRuleMatches(d, call);
      });
      const d = book.db[i];
      if (d !== undefined) {
        return { picocents: d.picocentsPerQuery + perMs(d.picocentsPerMs, durationMicros), rule: `db[${i}]` };
      }
    }
  }
  if (book.spans.length === 0) return null;
  const i = firstMatch(spanCandidates(index, span), (k) => {
    const s = book.spans[k] as SpanPrice;
    return (
      inForce(s, startMicros) && (s.name === null || s.name === span.name) && attributesMatch(s.attributes, span.get)
    );
  });
  const s = book.spans[i];
  if (s !== undefined)
    return { picocents: s.picocentsPerSpan + perMs(s.picocentsPerMs, durationMicros), rule: `spans[${i}]` };
  return null;
}

/** Model entries a call may match: exact names, and prefix entries under each prefix length of each name. */
function modelCandidates(index: BookIndex, usage: LlmUsage): Array<readonly number[] | undefined> {
  const lists: Array<readonly number[] | undefined> = [];
  for (const name of usage.models) {
    lists.push(index.models.exact.get(name));
    for (const length of index.models.prefixLengths) {
      if (length > name.length) break;
      lists.push(index.models.prefix.get(name.slice(0, length)));
    }
  }
  return lists;
}

/** HTTP entries for a host: its exact entries and the `*.suffix` entries of each of its parent domains. */
function hostCandidates(index: BookIndex, host: string): Array<readonly number[] | undefined> {
  const lists: Array<readonly number[] | undefined> = [index.http.exact.get(host)];
  for (let dot = host.indexOf('.'); dot !== -1; dot = host.indexOf('.', dot + 1)) {
    lists.push(index.http.wildcard.get(host.slice(dot)));
  }
  return lists;
}

/** Span entries: by name, and nameless ones by the span's value of each first filter key. */
function spanCandidates(index: BookIndex, span: SpanToPrice): Array<readonly number[] | undefined> {
  const lists: Array<readonly number[] | undefined> = [index.spans.byName.get(span.name)];
  for (const key of index.spans.firstKeys) {
    for (const k of spanValueKeys(key, span.get(key))) lists.push(index.spans.byFirstAttribute.get(k));
  }
  return lists;
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
