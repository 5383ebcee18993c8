/**
 * Pipeline stage 2b: a span's own cost when the app sent none, by the precedence of docs/contract.md §8 — a cost the
 * provider reported (`reported`) > the price book (`priced`, remembering the book version) > the bundled model
 * table for token usage (`inferred`) > `unpriced` (an LLM call with no usable usage or no price: no amount, never
 * $0, the reason kept). Used at ingest (normalize.ts) and to re-price stored spans (features/prices/service.ts), so both
 * read a span alike. Pure; never throws for a span's content (src/pricing.ts).
 */
import { llmVendorAndModel, modelFamily } from '../../src/genai.ts';
import { ATTR_INPUT_EXCLUDES_CACHE, callKey, READING_KEY_PATTERN } from '../../src/llm-usage.ts';
import { type LlmCall, priceLlmUsage, readLlmCall, vendorOfModel } from '../../src/pricing.ts';
import type { SpanRecord } from '../../src/records.ts';
import { ATTR_COST_DUPLICATE_OF, ATTR_COST_SOURCE, ATTR_COST_UNPRICED_REASON } from '../../src/semconv.ts';
import type { AttrMap, DecodedSpan } from '../decode/types.ts';
import { priceSpan } from '../features/prices/price-span.ts';
import type { Pricing } from '../features/prices/pricing.ts';

export type Priced = Pick<SpanRecord, 'costPicocents' | 'costSource' | 'priceVersion'> & {
  /** Why an `unpriced` span has no price (kept as `_cost.unpriced_reason`), else null. */
  readonly unpricedReason?: string | null;
};

export type Kept = Record<string, string | boolean>;
export const NOTHING_KEPT: Kept = Object.freeze({}) as Kept;

/** A price and the attributes the collector adds to say how it read the span (kept for re-pricing). */
export interface PricedSpan {
  readonly priced: Priced;
  readonly kept: Kept;
}

type SpanToPrice = Pick<DecodedSpan, 'name' | 'scopeName' | 'startTimeUnixNano' | 'endTimeUnixNano' | 'attributes'>;
type Getter = (key: string) => unknown;

const NOT_PRICED: PricedSpan = {
  priced: { costPicocents: null, costSource: null, priceVersion: null },
  kept: NOTHING_KEPT,
};
const NO_CALL: LlmCall = { kind: 'none' };

/** Markers the collector writes among a stored span's attributes: honoured when read back, never from a client. */
const COLLECTOR_MARKERS: ReadonlySet<string> = new Set([ATTR_COST_DUPLICATE_OF, ATTR_INPUT_EXCLUDES_CACHE]);

/** How a span's attributes are read at ingest: the collector's own markers hidden. */
export function ingestGetter(attributes: AttrMap): Getter {
  return (k) => (COLLECTOR_MARKERS.has(k) ? undefined : attributes.get(k));
}

/**
 * The LLM call a span describes. Most spans carry no producer's attribute at all (HTTP, DB, app spans): one pass
 * over their keys spares them every look-up of the readings.
 */
export function llmCallOf(attributes: AttrMap, get: Getter, scopeName: string): LlmCall {
  for (const key of attributes.keys()) if (READING_KEY_PATTERN.test(key)) return readLlmCall(get, scopeName);
  return NO_CALL;
}

/** What the collector prices a stored span at (re-pricing), its attributes as stored. */
export function collectorCost(span: SpanToPrice, pricing: Pricing): Priced {
  const get: Getter = (k) => span.attributes.get(k);
  const { priced, kept } = pricedByCollector(span, get, pricing, llmCallOf(span.attributes, get, span.scopeName));
  const reason = kept[ATTR_COST_UNPRICED_REASON];
  return { ...priced, unpricedReason: typeof reason === 'string' ? reason : null };
}

export function pricedByCollector(span: SpanToPrice, get: Getter, pricing: Pricing, call: LlmCall): PricedSpan {
  // A span the writer found repeating another span's call (writer/llm-calls.ts) stays unpriced by re-pricing too.
  if (typeof get(ATTR_COST_DUPLICATE_OF) === 'string') return NOT_PRICED;
  const usage = call.kind === 'usage' ? call.usage : null;
  const kept = readingKept(get, call);
  const at = new Date(Number(span.startTimeUnixNano / 1_000_000n));
  const price = (u: NonNullable<typeof usage>) => priceLlmUsage(u, Number.isNaN(at.getTime()) ? new Date(0) : at);
  const priced = (p: Priced): PricedSpan => ({ priced: p, kept });
  if (usage !== null && usage.reportedCostPicocents !== null) {
    const reported = price(usage);
    if (reported.kind === 'priced')
      return priced({ costPicocents: reported.picocents, costSource: 'reported', priceVersion: null });
  }
  // The book before the bundled table: a span the book prices never pays for the table look-up.
  if (pricing.version > 0) {
    const booked = priceSpan(pricing.book, {
      name: span.name,
      startTimeUnixNano: span.startTimeUnixNano,
      endTimeUnixNano: span.endTimeUnixNano,
      get,
      usage,
    });
    if (booked !== null)
      return priced({ costPicocents: booked.picocents, costSource: 'priced', priceVersion: pricing.version });
  }
  if (call.kind === 'unusable') return unpriced(call.reason, kept);
  if (usage === null) return NOT_PRICED;
  const llm = price(usage);
  return llm.kind === 'priced'
    ? priced({ costPicocents: llm.picocents, costSource: 'inferred', priceVersion: null })
    : unpriced(llm.reason, kept);
}

function unpriced(reason: string, kept: Kept): PricedSpan {
  return {
    priced: { costPicocents: null, costSource: 'unpriced', priceVersion: null },
    kept: { ...kept, [ATTR_COST_UNPRICED_REASON]: reason.slice(0, 200) },
  };
}

/** The reading its scope decided (src/llm-usage.ts), written down so a stored span is read alike without it. */
function readingKept(get: Getter, call: LlmCall): Kept {
  return call.kind === 'usage' && call.usage.excludedCacheByScope && get(ATTR_INPUT_EXCLUDES_CACHE) !== true
    ? { [ATTR_INPUT_EXCLUDES_CACHE]: true }
    : NOTHING_KEPT;
}

/** Vendor and model of an LLM span; an LLM call naming its model but no provider gets the model's (Langfuse). */
export function llmOf(get: Getter, call: LlmCall): { llmVendor: string | null; llmModel: string | null } {
  if (call.kind === 'none') return { llmVendor: null, llmModel: null };
  // A call with usage was read with its vendor and models already (the first model is the record's).
  const { vendor, model } =
    call.kind === 'usage' ? { vendor: call.usage.vendor, model: call.usage.models[0] ?? null } : llmVendorAndModel(get);
  const inferred = vendor === null && model !== null ? vendorOfModel(model) : null;
  return { llmVendor: vendor ?? inferred, llmModel: model };
}

/** SDK methods that price from the span's own usage: such a `provided` cost repeats a partner's like ours does. */
const FROM_USAGE: ReadonlySet<unknown> = new Set(['llm_price_table', 'reported']);

/**
 * The call key of an LLM span (its model's family + usage; `-` when it has none usable): what the writer tells one
 * call described twice by (writer/llm-calls.ts). Null for other spans, for calls naming no model, and for an app's
 * own `_cost` that is not the SDK's price of the same usage (never dropped as a repeat).
 */
export function callKeyOf(call: LlmCall, model: string | null, priced: Priced, get: Getter): string | null {
  if (call.kind === 'none' || model === null) return null;
  if (priced.costSource === 'provided' && !FROM_USAGE.has(get(ATTR_COST_SOURCE))) return null;
  const family = modelFamily(model);
  return call.kind === 'usage'
    ? callKey(family, { kind: 'usage', usage: call.usage, excludedCacheByScope: call.usage.excludedCacheByScope })
    : `${family}|-`;
}
