/**
 * LLM cost from token usage, shared by the instrumentations (in the app) and the collector (for spans
 * that arrive with usage but no `_cost`). Prices come from `@pydantic/genai-prices`, whose dated price
 * table ships inside the package (its network auto-update is never enabled here).
 *
 * Usage and reported costs are read the way each producer means them (llm-usage.ts): cache reads and writes
 * priced at their own rates, reasoning tokens once as output. A reported cost wins over the table. An unknown model is `unpriced`, never $0; so is an LLM call without usable usage.
 * Nothing here throws for a span's content: a price that cannot be computed is `unpriced` with the reason.
 */
import { calcPrice, findProvider } from '@pydantic/genai-prices';
import { isLlmCall, llmVendorAndModel, modelNames, notACall } from './genai.ts';
import { ERROR_TYPE_KEY, readReportedCost, readUsage, type TokenUsage, totalInputTokens } from './llm-usage.ts';
import { type Picocents, parseFloatAmount } from './money.ts';

export interface LlmUsage extends TokenUsage {
  readonly vendor: string | null;
  /** Model names to price by, best first: the response's (a dated snapshot), then the request's. */
  readonly models: readonly string[];
  /** All input tokens, cached ones included (what tiers and the bundled table count). */
  readonly inputTokens: number;
  /** A cost reported with the call (cents, as picocents), if any. */
  readonly reportedCostPicocents: Picocents | null;
  /** The input was read as uncached because of the span's scope (llm-usage.ts ATTR_INPUT_EXCLUDES_CACHE). */
  readonly excludedCacheByScope: boolean;
}

/** What a span says about an LLM call. */
export type LlmCall =
  | { readonly kind: 'none' }
  | { readonly kind: 'usage'; readonly usage: LlmUsage }
  /** An LLM call whose usage is missing or unreadable: priced at nothing, flagged `unpriced` with the reason. */
  | { readonly kind: 'unusable'; readonly reason: string };

export type LlmPrice =
  | { readonly kind: 'priced'; readonly picocents: Picocents; readonly source: 'price_table' | 'reported' }
  | { readonly kind: 'unpriced'; readonly reason: string };

/** Semconv provider names → genai-prices provider ids, where they differ. */
const PROVIDER_IDS: ReadonlyMap<string, string> = new Map([
  ['gcp.gemini', 'google'],
  ['gcp.vertex_ai', 'google'],
  ['gcp.gen_ai', 'google'],
  ['aws.bedrock', 'aws'],
  ['azure.ai.openai', 'azure'],
  ['azure.ai.inference', 'azure'],
  ['mistral_ai', 'mistral'],
  ['x_ai', 'x-ai'],
]);

/** genai-prices provider ids → semconv provider names, where they differ (the inverse of PROVIDER_IDS). */
const SEMCONV_OF_PROVIDER_ID: ReadonlyMap<string, string> = new Map([
  ['google', 'gcp.gemini'],
  ['aws', 'aws.bedrock'],
  ['azure', 'azure.ai.openai'],
  ['mistral', 'mistral_ai'],
  ['x-ai', 'x_ai'],
]);
const vendorByModel = new Map<string, string | null>();
const VENDOR_CACHE_LIMIT = 4096;

/**
 * The provider of a model named without one (Langfuse generations carry only the model name), as the bundled
 * table knows it; null when it does not. Remembered per name (bounded).
 */
export function vendorOfModel(model: string): string | null {
  let vendor = vendorByModel.get(model);
  if (vendor === undefined) {
    let id: string | undefined;
    try {
      id = findProvider({ modelId: model })?.id;
    } catch {
      id = undefined;
    }
    vendor = id === undefined ? null : (SEMCONV_OF_PROVIDER_ID.get(id) ?? id);
    if (vendorByModel.size >= VENDOR_CACHE_LIMIT) vendorByModel.clear();
    vendorByModel.set(model, vendor);
  }
  return vendor;
}

/** The LLM call a span describes; `scopeName` is its instrumentation scope (llm-usage.ts readUsage). */
export function readLlmCall(get: (key: string) => unknown, scopeName = ''): LlmCall {
  if (notACall(get)) return { kind: 'none' };
  const reported = readReportedCost(get);
  const reading = readUsage(get, scopeName);
  if (reading.kind === 'usage' || reported !== null) {
    const usage = reading.kind === 'usage' ? reading.usage : NO_TOKENS;
    const { vendor } = llmVendorAndModel(get);
    return {
      kind: 'usage',
      // Fields listed, not spread: spreading objects of two shapes took V8's slow path (~20 us per span).
      usage: {
        uncachedInputTokens: usage.uncachedInputTokens,
        cacheReadTokens: usage.cacheReadTokens,
        cacheWriteTokens: usage.cacheWriteTokens,
        outputTokens: usage.outputTokens,
        reasoningTokens: usage.reasoningTokens,
        vendor,
        models: modelNames(get),
        inputTokens: totalInputTokens(usage),
        reportedCostPicocents: reported,
        excludedCacheByScope: reading.kind === 'usage' && reading.excludedCacheByScope,
      },
    };
  }
  if (reading.kind === 'invalid') return { kind: 'unusable', reason: reading.reason };
  if (!isLlmCall(get) || get(ERROR_TYPE_KEY) !== undefined) return { kind: 'none' };
  return { kind: 'unusable', reason: 'no token usage on the LLM span' };
}

/** Token usage of a span, or null when it carries none usable (the SDK's question). */
export function usageFromAttributes(get: (key: string) => unknown, scopeName = ''): LlmUsage | null {
  const call = readLlmCall(get, scopeName);
  return call.kind === 'usage' ? call.usage : null;
}

const NO_TOKENS: TokenUsage = {
  uncachedInputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0,
};

/** Cost in cents (as picocents) of one call, priced as of `at`. Never throws. */
export function priceLlmUsage(u: LlmUsage, at: Date): LlmPrice {
  if (u.reportedCostPicocents !== null)
    return { kind: 'priced', picocents: u.reportedCostPicocents, source: 'reported' };
  if (u.models.length === 0) return { kind: 'unpriced', reason: 'no model name on the span' };
  const providerId = u.vendor === null ? undefined : (PROVIDER_IDS.get(u.vendor) ?? u.vendor);
  const usage = {
    input_tokens: u.inputTokens,
    output_tokens: u.outputTokens,
    cache_read_tokens: u.cacheReadTokens,
    cache_write_tokens: u.cacheWriteTokens,
  };
  try {
    for (const model of u.models) {
      let result = calcPrice(usage, model, { ...(providerId ? { providerId } : {}), timestamp: at });
      // The vendor name may be one genai-prices does not know: find the model by name alone.
      if (result === null && providerId !== undefined) result = calcPrice(usage, model, { timestamp: at });
      if (result !== null) return fromUsd(result.total_price, 'price_table');
    }
  } catch (err) {
    return {
      kind: 'unpriced',
      reason: `the model table could not price it: ${err instanceof Error ? err.message : err}`,
    };
  }
  return { kind: 'unpriced', reason: `no price for model ${u.models.map((m) => `"${m}"`).join(' or ')}` };
}

function fromUsd(usd: number, source: 'price_table' | 'reported'): LlmPrice {
  const cents = parseFloatAmount(usd * 100);
  if (!cents.ok || cents.picocents < 0n) return { kind: 'unpriced', reason: `invalid price ${usd}` };
  return { kind: 'priced', picocents: cents.picocents, source };
}
