/**
 * Token usage of an LLM span, read the way each producer means it (README "GenAI producers"); the one place that
 * knows the attribute names, used by the collector (ingest and re-pricing), the SDK and Polar forwarding.
 *
 * - GenAI conventions, OpenAI-style producers, the Anthropic SDK's own tracing, the Vercel AI SDK:
 *   `gen_ai.usage.input_tokens` INCLUDES cache reads and writes (docs/contract.md §8).
 * - Anthropic's own `input_tokens` EXCLUDES them, and OpenLLMetry's Anthropic instrumentation passes it on as
 *   `gen_ai.usage.input_tokens`: for its scope the input is the uncached part. For any other producer, cache reads +
 *   writes above the input can only mean the same (Anthropic's reading); otherwise the input includes them.
 * - The Vercel AI SDK puts the cache detail in `ai.usage.*` (`inputTokenDetails.cacheReadTokens`, …): read only on
 *   spans that also carry `gen_ai.usage.*` (its provider-call spans); its wrapper spans repeat the same totals.
 * - Langfuse: `langfuse.observation.usage_details` is JSON text whose keys add up (input excludes the cache).
 * - OpenInference: `llm.token_count.prompt` (incl. `prompt_details.cache_read/cache_write`), `.completion`.
 * Output tokens include reasoning ones (priced once, as output); Langfuse's `output_reasoning_tokens` is its own key.
 * - The AI SDK's embedding calls (`ai.embed.doEmbed`) carry only `ai.usage.tokens` (input).
 * A cost reported with the call (USD): `gen_ai.usage.cost`, the draft `gen_ai.usage.cost.amount` (currency absent
 * or USD), OpenInference's `llm.cost.total`, Langfuse's `cost_details` (its `total`, else the sum of its keys).
 */
import {
  AI_SDK_MODEL_KEY,
  AI_SDK_OPERATION_KEY,
  AI_SDK_PROVIDER_KEY,
  GEN_AI_MODEL_KEYS,
  GEN_AI_VENDOR_KEYS,
  isAiSdkEmbedding,
  LANGFUSE_TYPE_KEY,
  OPENINFERENCE_KIND_KEY,
  OPERATION_KEY,
} from './genai.ts';
import { type Picocents, parseDecimalString, parseFloatAmount } from './money.ts';
/** How much a count may be: more tokens than any call could use is a broken producer, not usage to price. */
export const MAX_TOKENS = 1e12;

/** OpenLLMetry's Anthropic scope: its `gen_ai.usage.input_tokens` is Anthropic's, without the cache. */
const INPUT_EXCLUDES_CACHE_SCOPES: ReadonlySet<string> = new Set(['@traceloop/instrumentation-anthropic']);

/**
 * Written by the collector among a span's kept attributes when the reading came from its scope (above), so a stored
 * span is read again the same way (re-pricing, Polar forwarding) without its scope.
 */
export const ATTR_INPUT_EXCLUDES_CACHE = '_cost.input_excludes_cache';

export interface TokenUsage {
  /** Input tokens not read from or written to the cache. */
  readonly uncachedInputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
  /** Output tokens, reasoning included. */
  readonly outputTokens: number;
  /** Of the output, reasoning tokens (informational: already in outputTokens). */
  readonly reasoningTokens: number;
}

export type UsageReading =
  | { readonly kind: 'none' }
  | { readonly kind: 'invalid'; readonly reason: string }
  | { readonly kind: 'usage'; readonly usage: TokenUsage; readonly excludedCacheByScope: boolean };

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
const REASONING_KEYS = [
  'gen_ai.usage.reasoning.output_tokens', // @anthropic-ai/sdk's own tracing
  'gen_ai.usage.reasoning_tokens',
  'llm.token_count.completion_details.reasoning',
];
/** The Vercel AI SDK's detail, on spans that carry `gen_ai.usage.*` too. */
const AI_SDK_CACHE_READ_KEYS = ['ai.usage.inputTokenDetails.cacheReadTokens', 'ai.usage.cachedInputTokens'];
const AI_SDK_CACHE_WRITE_KEYS = ['ai.usage.inputTokenDetails.cacheWriteTokens'];
const AI_SDK_REASONING_KEYS = ['ai.usage.outputTokenDetails.reasoningTokens', 'ai.usage.reasoningTokens'];
const AI_SDK_EMBEDDING_TOKENS_KEY = 'ai.usage.tokens';

export const LANGFUSE_USAGE_KEY = 'langfuse.observation.usage_details';
const LANGFUSE_CACHE_READ = ['cache_read_input_tokens', 'input_cached_tokens', 'input_cache_read', 'cached_tokens'];
const LANGFUSE_CACHE_WRITE = ['cache_creation_input_tokens', 'input_cache_creation', 'cache_write_input_tokens'];

export const REPORTED_COST_KEYS = ['gen_ai.usage.cost', 'gen_ai.usage.cost.amount', 'llm.cost.total'] as const;
const REPORTED_CURRENCY_KEY = 'gen_ai.usage.cost.currency';
export const LANGFUSE_COST_KEY = 'langfuse.observation.cost_details';
/** A failed call (semconv `error.type`) without usage billed nothing: not a call to flag. */
export const ERROR_TYPE_KEY = 'error.type';

/**
 * Every attribute key the readings use (usage, reported cost, model, provider, what the span is): a stored span
 * always keeps these, beyond the cap on kept attributes, so re-pricing and Polar forwarding read it as ingest did.
 */
export const READING_ATTRIBUTE_KEYS: ReadonlySet<string> = new Set([
  ...INPUT_KEYS,
  ...OUTPUT_KEYS,
  ...CACHE_READ_KEYS,
  ...CACHE_WRITE_KEYS,
  ...REASONING_KEYS,
  ...AI_SDK_CACHE_READ_KEYS,
  ...AI_SDK_CACHE_WRITE_KEYS,
  ...AI_SDK_REASONING_KEYS,
  AI_SDK_EMBEDDING_TOKENS_KEY,
  AI_SDK_OPERATION_KEY,
  AI_SDK_MODEL_KEY,
  AI_SDK_PROVIDER_KEY,
  LANGFUSE_USAGE_KEY,
  LANGFUSE_COST_KEY,
  LANGFUSE_TYPE_KEY,
  ...REPORTED_COST_KEYS,
  REPORTED_CURRENCY_KEY,
  ...GEN_AI_MODEL_KEYS,
  ...GEN_AI_VENDOR_KEYS,
  OPERATION_KEY,
  OPENINFERENCE_KIND_KEY,
  ERROR_TYPE_KEY,
]);

/**
 * The producers' key prefixes, as one pattern (a test per key, no allocation): a span with none of them is not read
 * for usage at all (the hot path).
 */
export const READING_KEY_PATTERN = /^(?:gen_ai|llm|ai|langfuse|openinference)\./;

class UsageProblem extends Error {}

/** A token count: a whole number of tokens in [0, MAX_TOKENS]; null when absent; a problem otherwise. */
/** A count as a whole number of tokens in [0, MAX_TOKENS]; null when absent; undefined when not a count. */
function countOf(value: unknown): number | null | undefined {
  if (value === undefined || value === null) return null;
  const n =
    typeof value === 'bigint'
      ? Number(value)
      : typeof value === 'string' && value.trim() !== ''
        ? Number(value)
        : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > MAX_TOKENS) return undefined;
  return Math.round(n);
}

/** A token count, null when absent; a problem (the span's reason) when it is not a count. */
function tokenCount(value: unknown, key: string): number | null {
  const n = countOf(value);
  if (n === undefined) {
    throw new UsageProblem(`${key} is ${describe(value)} (want a token count from 0 to ${MAX_TOKENS})`);
  }
  return n;
}

function firstCount(get: (key: string) => unknown, keys: readonly string[]): number | null {
  for (const k of keys) {
    const n = tokenCount(get(k), k);
    if (n !== null) return n;
  }
  return null;
}

/** The token usage on a span; `scopeName` is its instrumentation scope (decides a producer's own reading). */
export function readUsage(get: (key: string) => unknown, scopeName = ''): UsageReading {
  try {
    const langfuse = get(LANGFUSE_USAGE_KEY);
    if (typeof langfuse === 'string' && langfuse !== '') return langfuseUsage(langfuse);
    return attributeUsage(get, scopeName);
  } catch (err) {
    if (err instanceof UsageProblem) return { kind: 'invalid', reason: err.message };
    throw err;
  }
}

function attributeUsage(get: (key: string) => unknown, scopeName: string): UsageReading {
  let input = firstCount(get, INPUT_KEYS);
  const output = firstCount(get, OUTPUT_KEYS);
  if (input === null && output === null && isAiSdkEmbedding(get)) {
    input = firstCount(get, [AI_SDK_EMBEDDING_TOKENS_KEY]);
  }
  const semconv = input !== null || output !== null;
  let cacheRead = firstCount(get, CACHE_READ_KEYS);
  let cacheWrite = firstCount(get, CACHE_WRITE_KEYS);
  // Reasoning is informational (already in the output): an unreadable count is ignored, not a reason to refuse.
  let reasoning = firstCountOrNull(get, REASONING_KEYS);
  if (semconv) {
    cacheRead ??= firstCount(get, AI_SDK_CACHE_READ_KEYS);
    cacheWrite ??= firstCount(get, AI_SDK_CACHE_WRITE_KEYS);
    reasoning ??= firstCountOrNull(get, AI_SDK_REASONING_KEYS);
  }
  if (!semconv && cacheRead === null && cacheWrite === null) return { kind: 'none' };
  const read = cacheRead ?? 0;
  const write = cacheWrite ?? 0;
  const inputTokens = input ?? 0;
  const excludedCacheByScope = INPUT_EXCLUDES_CACHE_SCOPES.has(scopeName) || get(ATTR_INPUT_EXCLUDES_CACHE) === true;
  const excludesCache = excludedCacheByScope || read + write > inputTokens;
  const outputTokens = output ?? 0;
  return {
    kind: 'usage',
    excludedCacheByScope,
    usage: {
      uncachedInputTokens: excludesCache ? inputTokens : inputTokens - read - write,
      cacheReadTokens: read,
      cacheWriteTokens: write,
      outputTokens,
      reasoningTokens: Math.min(reasoning ?? 0, outputTokens),
    },
  };
}

function langfuseUsage(json: string): UsageReading {
  let details: unknown;
  try {
    details = JSON.parse(json);
  } catch {
    throw new UsageProblem(`${LANGFUSE_USAGE_KEY} is not JSON`);
  }
  if (typeof details !== 'object' || details === null || Array.isArray(details)) {
    throw new UsageProblem(`${LANGFUSE_USAGE_KEY} is not a JSON object`);
  }
  const d = details as Record<string, unknown>;
  const count = (k: string) => tokenCount(d[k], `${LANGFUSE_USAGE_KEY}.${k}`);
  const sum = (keys: readonly string[]) => keys.reduce((n, k) => n + (count(k) ?? 0), 0);
  const input = count('input');
  const output = count('output');
  // Langfuse's keys add up: reasoning is part of what is billed as output, so it must be readable.
  const reasoning = count('output_reasoning_tokens');
  const read = sum(LANGFUSE_CACHE_READ);
  const write = sum(LANGFUSE_CACHE_WRITE);
  if (input === null && output === null && read === 0 && write === 0) return { kind: 'none' };
  return {
    kind: 'usage',
    excludedCacheByScope: false,
    usage: {
      uncachedInputTokens: input ?? 0,
      cacheReadTokens: read,
      cacheWriteTokens: write,
      outputTokens: (output ?? 0) + (reasoning ?? 0),
      reasoningTokens: reasoning ?? 0,
    },
  };
}

/** The first readable count of `keys`, an unreadable one skipped (no closure: this runs for every LLM span). */
function firstCountOrNull(get: (key: string) => unknown, keys: readonly string[]): number | null {
  for (const k of keys) {
    const n = countOf(get(k));
    if (n !== undefined && n !== null) return n;
  }
  return null;
}

/** The cost reported with the call, in cents (picocents), exact for decimal text; null when none is readable. */
export function readReportedCost(get: (key: string) => unknown): Picocents | null {
  for (const key of REPORTED_COST_KEYS) {
    if (key === 'gen_ai.usage.cost.amount') {
      const currency = get(REPORTED_CURRENCY_KEY);
      if (currency !== undefined && (typeof currency !== 'string' || currency.toUpperCase() !== 'USD')) continue;
    }
    const cents = usdToCents(get(key));
    if (cents !== null) return cents;
  }
  const langfuse = get(LANGFUSE_COST_KEY);
  return typeof langfuse === 'string' ? langfuseCost(langfuse) : null;
}

/** A USD amount (number, bigint or decimal text) as cents in picocents; null when not a non-negative amount. */
function usdToCents(v: unknown): Picocents | null {
  let usd: Picocents | null = null;
  if (typeof v === 'string' && v.trim() !== '') {
    const parsed = parseDecimalString(v);
    usd = parsed.ok ? parsed.picocents : null;
  } else if (typeof v === 'number' || typeof v === 'bigint') {
    // A binary float through its shortest decimal text (0.0105 stays 0.0105), rounded half-even to 12 places.
    const parsed = parseFloatAmount(Number(v));
    usd = parsed.ok ? parsed.picocents : null;
  }
  return usd === null || usd < 0n ? null : usd * 100n;
}

/** Langfuse `cost_details` (JSON text, USD per usage key): its `total`, else the exact sum of the keys. */
function langfuseCost(json: string): Picocents | null {
  let details: unknown;
  try {
    details = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof details !== 'object' || details === null || Array.isArray(details)) return null;
  const d = details as Record<string, unknown>;
  if (d.total !== undefined) return usdToCents(d.total);
  let sum: Picocents | null = null;
  for (const v of Object.values(d)) {
    const cents = usdToCents(v);
    if (cents === null) return null;
    sum = (sum ?? 0n) + cents;
  }
  return sum;
}

/** All input tokens, cached ones included (what genai-prices and Polar's `_llm.input_tokens` count). */
export function totalInputTokens(u: TokenUsage): number {
  return u.uncachedInputTokens + u.cacheReadTokens + u.cacheWriteTokens;
}

/**
 * What identifies one call across the spans that describe it (a producer's span and the SDK's own beneath it):
 * the model family and the usage, or `-` for a call with no usage.
 */
export function callKey(family: string, reading: UsageReading): string {
  if (reading.kind !== 'usage') return `${family}|-`;
  const u = reading.usage;
  return `${family}|${u.uncachedInputTokens}|${u.cacheReadTokens}|${u.cacheWriteTokens}|${u.outputTokens}`;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return Array.isArray(v) ? 'an array' : typeof v;
}
