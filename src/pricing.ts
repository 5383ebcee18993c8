/**
 * LLM cost from token usage, shared by the instrumentations (in the app) and the collector (for spans
 * that arrive with usage but no `_cost`). Prices come from `@pydantic/genai-prices`, whose dated price
 * table ships inside the package (its network auto-update is never enabled here).
 *
 * Token counting follows the GenAI conventions: input tokens INCLUDE cached ones (cache reads are priced
 * at the cache rate, not again at the input rate) and output tokens INCLUDE reasoning ones (priced once,
 * as output). A cost reported by the provider or emitter wins over the table. An unknown model is
 * `unpriced`, never $0.
 */
import { calcPrice } from '@pydantic/genai-prices';
import { GEN_AI_MODEL_KEYS, llmVendorAndModel } from './genai.ts';
import { type Picocents, parseFloatAmount } from './money.ts';

export interface LlmUsage {
  readonly vendor: string | null;
  /** Model names to price by, best first: the response's (a dated snapshot), then the request's. */
  readonly models: readonly string[];
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
  /** A cost in USD reported with the call (OpenInference `llm.cost.total`), if any. */
  readonly reportedCostUsd: number | null;
}

export type LlmPrice =
  | { readonly kind: 'priced'; readonly picocents: Picocents; readonly source: 'price_table' | 'reported' }
  | { readonly kind: 'unpriced'; readonly reason: string };

/** Attribute names per emitter, in the order they are tried (semconv → deprecated → Traceloop → OpenInference). */
const INPUT_KEYS = ['gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens', 'llm.token_count.prompt'];
const OUTPUT_KEYS = ['gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens', 'llm.token_count.completion'];
const CACHE_READ_KEYS = [
  'gen_ai.usage.cache_read.input_tokens',
  'gen_ai.usage.cache_read_input_tokens',
  'llm.token_count.prompt_details.cache_read',
];
const CACHE_WRITE_KEYS = [
  'gen_ai.usage.cache_creation.input_tokens',
  'gen_ai.usage.cache_write.input_tokens', // @anthropic-ai/sdk's own tracing
  'gen_ai.usage.cache_creation_input_tokens',
  'llm.token_count.prompt_details.cache_write',
];
const REPORTED_COST_KEYS = ['gen_ai.usage.cost', 'llm.cost.total'];

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

function firstCount(get: (key: string) => unknown, keys: readonly string[]): number | null {
  for (const k of keys) {
    const v = get(k);
    const n = typeof v === 'bigint' ? Number(v) : typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n === 'number' && Number.isFinite(n) && n >= 0) return n;
  }
  return null;
}

/** Token usage of a span, or null when it carries none. */
export function usageFromAttributes(get: (key: string) => unknown): LlmUsage | null {
  const input = firstCount(get, INPUT_KEYS);
  const output = firstCount(get, OUTPUT_KEYS);
  const reported = firstCount(get, REPORTED_COST_KEYS);
  if (input === null && output === null && reported === null) return null;
  const { vendor } = llmVendorAndModel(get);
  const models = GEN_AI_MODEL_KEYS.map((k) => get(k)).filter((m): m is string => typeof m === 'string' && m !== '');
  return {
    vendor,
    models: [...new Set(models)],
    inputTokens: input ?? 0,
    outputTokens: output ?? 0,
    cacheReadTokens: firstCount(get, CACHE_READ_KEYS) ?? 0,
    cacheWriteTokens: firstCount(get, CACHE_WRITE_KEYS) ?? 0,
    reportedCostUsd: reported,
  };
}

/** Cost in cents (as picocents) of one call, priced as of `at`. */
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
  for (const model of u.models) {
    let result = calcPrice(usage, model, { ...(providerId ? { providerId } : {}), timestamp: at });
    // The vendor name may be one genai-prices does not know: find the model by name alone.
    if (result === null && providerId !== undefined) result = calcPrice(usage, model, { timestamp: at });
    if (result !== null) return fromUsd(result.total_price, 'price_table');
  }
  return { kind: 'unpriced', reason: `no price for model ${u.models.map((m) => `"${m}"`).join(' or ')}` };
}

function fromUsd(usd: number, source: 'price_table' | 'reported'): LlmPrice {
  const cents = parseFloatAmount(usd * 100);
  if (!cents.ok || cents.picocents < 0n) return { kind: 'unpriced', reason: `invalid price ${usd}` };
  return { kind: 'priced', picocents: cents.picocents, source };
}
