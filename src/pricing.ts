/**
 * LLM cost from token usage, shared by the instrumentations (in the app) and the collector (for spans
 * that arrive with usage but no `_cost`). Prices come from `@pydantic/genai-prices`, whose dated price
 * table ships inside the package (its network auto-update is never enabled here).
 *
 * Usage is read the way each producer means it (llm-usage.ts): cache reads and writes priced at their own
 * rates, reasoning tokens once as output. A cost reported by the provider or emitter wins over the table
 * (`gen_ai.usage.cost`, the draft `gen_ai.usage.cost.amount`, OpenInference `llm.cost.total`, Langfuse
 * `cost_details`; all USD). An unknown model is `unpriced`, never $0; so is an LLM call without usable usage.
 * Nothing here throws for a span's content: a price that cannot be computed is `unpriced` with the reason.
 */
import { calcPrice, findProvider } from '@pydantic/genai-prices';
import { isLlmCall, llmVendorAndModel, modelNames } from './genai.ts';
import { readUsage, type TokenUsage, totalInputTokens } from './llm-usage.ts';
import { type Picocents, parseAmount, parseFloatAmount } from './money.ts';

export interface LlmUsage extends TokenUsage {
  readonly vendor: string | null;
  /** Model names to price by, best first: the response's (a dated snapshot), then the request's. */
  readonly models: readonly string[];
  /** All input tokens, cached ones included (what tiers and the bundled table count). */
  readonly inputTokens: number;
  /** A cost in USD reported with the call, if any. */
  readonly reportedCostUsd: number | null;
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

export const REPORTED_COST_KEYS = ['gen_ai.usage.cost', 'gen_ai.usage.cost.amount', 'llm.cost.total'] as const;
const REPORTED_CURRENCY_KEY = 'gen_ai.usage.cost.currency';
export const LANGFUSE_COST_KEY = 'langfuse.observation.cost_details';
/** A failed call (semconv `error.type`) with no usage billed nothing: not a call to flag. */
export const ERROR_TYPE_KEY = 'error.type';

/** Semconv provider names → genai-prices provider ids, where they differ. */
const PROVIDER_IDS: Record<string, string> = {
  'gcp.gemini': 'google',
  'gcp.vertex_ai': 'google',
  'gcp.gen_ai': 'google',
  'aws.bedrock': 'aws',
  'azure.ai.openai': 'azure',
  'azure.ai.inference': 'azure',
  mistral_ai: 'mistral',
  x_ai: 'x-ai',
};

/** genai-prices provider ids → semconv provider names, where they differ (the inverse of PROVIDER_IDS). */
const SEMCONV_OF_PROVIDER_ID: Record<string, string> = {
  google: 'gcp.gemini',
  aws: 'aws.bedrock',
  azure: 'azure.ai.openai',
  mistral: 'mistral_ai',
  'x-ai': 'x_ai',
};
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
    vendor = id === undefined ? null : (SEMCONV_OF_PROVIDER_ID[id] ?? id);
    if (vendorByModel.size >= VENDOR_CACHE_LIMIT) vendorByModel.clear();
    vendorByModel.set(model, vendor);
  }
  return vendor;
}

/** The LLM call a span describes; `scopeName` is its instrumentation scope (llm-usage.ts readUsage). */
export function readLlmCall(get: (key: string) => unknown, scopeName = ''): LlmCall {
  const reported = reportedCostUsd(get);
  const reading = readUsage(get, scopeName);
  if (reading.kind === 'usage' || reported !== null) {
    const usage = reading.kind === 'usage' ? reading.usage : NO_TOKENS;
    const { vendor } = llmVendorAndModel(get);
    return {
      kind: 'usage',
      usage: {
        ...usage,
        vendor,
        models: modelNames(get),
        inputTokens: totalInputTokens(usage),
        reportedCostUsd: reported,
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

/** A reported cost in USD: the first readable, non-negative one (an unreadable one is ignored, not fatal). */
function reportedCostUsd(get: (key: string) => unknown): number | null {
  for (const key of REPORTED_COST_KEYS) {
    if (key === 'gen_ai.usage.cost.amount') {
      const currency = get(REPORTED_CURRENCY_KEY);
      if (currency !== undefined && (typeof currency !== 'string' || currency.toUpperCase() !== 'USD')) continue;
    }
    const usd = usdOf(get(key));
    if (usd !== null) return usd;
  }
  const langfuse = get(LANGFUSE_COST_KEY);
  return typeof langfuse === 'string' ? langfuseCostUsd(langfuse) : null;
}

function usdOf(v: unknown): number | null {
  const n = typeof v === 'bigint' ? Number(v) : typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : null;
}

/** Langfuse `cost_details` (JSON text, USD per usage key): its `total`, else the sum of the keys. */
function langfuseCostUsd(json: string): number | null {
  let details: unknown;
  try {
    details = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof details !== 'object' || details === null || Array.isArray(details)) return null;
  const d = details as Record<string, unknown>;
  if (d.total !== undefined) return usdOf(d.total);
  let sum = 0n;
  let any = false;
  for (const v of Object.values(d)) {
    const usd = usdOf(v);
    if (usd === null) return null;
    const parsed = parseAmount(usd);
    if (!parsed.ok) return null;
    sum += parsed.picocents;
    any = true;
  }
  return any ? Number(sum) / 1e12 : null;
}

/** Cost in cents (as picocents) of one call, priced as of `at`. Never throws. */
export function priceLlmUsage(u: LlmUsage, at: Date): LlmPrice {
  if (u.reportedCostUsd !== null) return fromUsd(u.reportedCostUsd, 'reported');
  if (u.models.length === 0) return { kind: 'unpriced', reason: 'no model name on the span' };
  const providerId = u.vendor === null ? undefined : (PROVIDER_IDS[u.vendor] ?? u.vendor);
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
