/**
 * Who made an LLM call and with which model, read the same way by the collector, the SDK and Polar forwarding
 * (README "GenAI producers"). Provider: `gen_ai.provider.name` first, then the deprecated `gen_ai.system`, then
 * OpenInference's `llm.provider` / `llm.system`; lower-cased (Traceloop's legacy emitters send "OpenAI") and
 * normalized to the semantic-convention name, so the Vercel AI SDK's `openai.chat` / `openai.responses` /
 * `anthropic.messages` are one vendor each. Model: the response's (a dated snapshot), then the request's, then
 * OpenInference's `llm.model_name`, then Langfuse's `langfuse.observation.model.name`.
 */
export const GEN_AI_VENDOR_KEYS = ['gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system'] as const;
export const GEN_AI_MODEL_KEYS = [
  'gen_ai.response.model',
  'gen_ai.request.model',
  'llm.model_name',
  'langfuse.observation.model.name',
] as const;

/** The Vercel AI SDK's embedding calls carry only `ai.*` keys: model `ai.model.id`, provider `ai.model.provider`. */
export const AI_SDK_OPERATION_KEY = 'ai.operationId';
export const AI_SDK_MODEL_KEY = 'ai.model.id';
export const AI_SDK_PROVIDER_KEY = 'ai.model.provider';
const AI_SDK_EMBEDDINGS: ReadonlySet<string> = new Set(['ai.embed.doEmbed', 'ai.embedMany.doEmbed']);

/** Whether the span is one of the AI SDK's embedding provider calls (its usage is `ai.usage.tokens`). */
export function isAiSdkEmbedding(get: (key: string) => unknown): boolean {
  const op = get(AI_SDK_OPERATION_KEY);
  return typeof op === 'string' && AI_SDK_EMBEDDINGS.has(op);
}

/** Semantic-convention provider names (gen_ai.provider.name's well-known values), kept as they are. */
const SEMCONV_PROVIDERS: ReadonlySet<string> = new Set([
  'anthropic',
  'aws.bedrock',
  'azure.ai.inference',
  'azure.ai.openai',
  'cohere',
  'deepseek',
  'gcp.gemini',
  'gcp.gen_ai',
  'gcp.vertex_ai',
  'groq',
  'ibm.watsonx.ai',
  'mistral_ai',
  'openai',
  'perplexity',
  'x_ai',
]);

/**
 * The Vercel AI SDK names providers `<provider>.<api>` (`openai.chat`, `google.generative-ai`,
 * `google.vertex.chat`, `amazon-bedrock`, `mistral.chat`, `xai.chat`, …): its provider id → the semconv name.
 */
// A Map, not an object literal: a provider named "constructor" or "__proto__" must not find Object's own members.
const AI_SDK_PROVIDERS: ReadonlyMap<string, string> = new Map([
  ['amazon-bedrock', 'aws.bedrock'],
  ['azure', 'azure.ai.openai'],
  ['azure-openai', 'azure.ai.openai'],
  ['google', 'gcp.gemini'],
  ['google.vertex', 'gcp.vertex_ai'],
  ['vertex', 'gcp.vertex_ai'],
  ['mistral', 'mistral_ai'],
  ['xai', 'x_ai'],
]);

/** A provider value as sent → its one name (the original stays among the span's attributes). */
export function normalizeProvider(raw: string): string {
  const value = raw.trim().toLowerCase();
  if (SEMCONV_PROVIDERS.has(value)) return value;
  const [first = value, second] = value.split('.');
  const twoParts = second === undefined ? undefined : AI_SDK_PROVIDERS.get(`${first}.${second}`);
  if (twoParts !== undefined) return twoParts;
  const mapped = AI_SDK_PROVIDERS.get(first);
  if (mapped !== undefined) return mapped;
  if (first !== value && SEMCONV_PROVIDERS.has(first)) return first;
  return value;
}

export function firstString(get: (key: string) => unknown, keys: readonly string[]): string | null {
  for (const k of keys) {
    const v = get(k);
    if (typeof v === 'string' && v !== '') return v;
  }
  return null;
}

export function llmVendorAndModel(get: (key: string) => unknown): { vendor: string | null; model: string | null } {
  let vendor = firstString(get, GEN_AI_VENDOR_KEYS);
  let model = firstString(get, GEN_AI_MODEL_KEYS);
  if ((vendor === null || model === null) && isAiSdkEmbedding(get)) {
    vendor ??= firstString(get, [AI_SDK_PROVIDER_KEY]);
    model ??= firstString(get, [AI_SDK_MODEL_KEY]);
  }
  return { vendor: vendor === null ? null : normalizeProvider(vendor), model };
}

/** Model names on a span, best first, without repeats. */
export function modelNames(get: (key: string) => unknown): string[] {
  const models: string[] = [];
  const add = (m: unknown) => {
    if (typeof m === 'string' && m !== '' && !models.includes(m)) models.push(m);
  };
  for (const k of GEN_AI_MODEL_KEYS) add(get(k));
  if (isAiSdkEmbedding(get)) add(get(AI_SDK_MODEL_KEY));
  return models;
}

/** GenAI operations that are not a model call (their spans may name a model and sum the calls beneath them). */
const NOT_A_CALL: ReadonlySet<string> = new Set(['execute_tool', 'invoke_agent', 'create_agent']);
const OPENINFERENCE_CALL_KINDS: ReadonlySet<string> = new Set(['LLM', 'EMBEDDING']);
const LANGFUSE_CALL_TYPES: ReadonlySet<string> = new Set(['generation', 'embedding']);

/**
 * Whether a span is an LLM call: a model name, a GenAI operation or a provider attribute — unless the producer
 * says it is something else (a tool or agent operation, an OpenInference CHAIN/TOOL/AGENT span, a Langfuse
 * span/event). The Vercel AI SDK's wrapper spans (`ai.generateText`) carry only `ai.*` keys: not a call; their
 * provider-call children (`ai.generateText.doGenerate`) carry `gen_ai.*` and are.
 */
export function isLlmCall(get: (key: string) => unknown): boolean {
  const said = producerSays(get);
  if (said !== null) return said;
  return (
    typeof get(OPERATION_KEY) === 'string' ||
    isAiSdkEmbedding(get) ||
    firstString(get, GEN_AI_MODEL_KEYS) !== null ||
    firstString(get, GEN_AI_VENDOR_KEYS) !== null
  );
}

/**
 * The producer says the span is not a model call (a tool or agent operation, an OpenInference CHAIN/TOOL/AGENT
 * span, a Langfuse span/event): its usage, when it has any, sums the calls beneath it and is not priced again.
 */
export function notACall(get: (key: string) => unknown): boolean {
  return producerSays(get) === false;
}

export const OPERATION_KEY = 'gen_ai.operation.name';
export const OPENINFERENCE_KIND_KEY = 'openinference.span.kind';
export const LANGFUSE_TYPE_KEY = 'langfuse.observation.type';

/** true / false when the producer names the span's kind, null when it does not. */
function producerSays(get: (key: string) => unknown): boolean | null {
  const operation = get(OPERATION_KEY);
  if (typeof operation === 'string' && NOT_A_CALL.has(operation)) return false;
  const kind = get(OPENINFERENCE_KIND_KEY);
  if (typeof kind === 'string') return OPENINFERENCE_CALL_KINDS.has(kind.toUpperCase());
  const langfuse = get(LANGFUSE_TYPE_KEY);
  if (typeof langfuse === 'string') return LANGFUSE_CALL_TYPES.has(langfuse);
  return null;
}

/**
 * A model name without its provider path and date or `latest` suffix: `claude-3-5-haiku-20241022`,
 * `claude-3-5-haiku-latest` and `anthropic/claude-3-5-haiku` are one family, as are `gpt-4o-mini` and
 * `gpt-4o-mini-2024-07-18`. Used to tell that two spans describe the same call.
 */
export function modelFamily(model: string): string {
  const name = model.trim().toLowerCase();
  const base = name.slice(name.lastIndexOf('/') + 1);
  return base.replace(/(-\d{4}-\d{2}-\d{2}|-\d{8}|-latest|@\d{8})$/, '');
}
