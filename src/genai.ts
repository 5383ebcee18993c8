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
const AI_SDK_PROVIDERS: Readonly<Record<string, string>> = {
  'amazon-bedrock': 'aws.bedrock',
  azure: 'azure.ai.openai',
  'azure-openai': 'azure.ai.openai',
  google: 'gcp.gemini',
  'google.vertex': 'gcp.vertex_ai',
  vertex: 'gcp.vertex_ai',
  mistral: 'mistral_ai',
  xai: 'x_ai',
};

/** A provider value as sent → its one name (the original stays among the span's attributes). */
export function normalizeProvider(raw: string): string {
  const value = raw.trim().toLowerCase();
  if (SEMCONV_PROVIDERS.has(value)) return value;
  const [first, second] = value.split('.');
  const twoParts = second === undefined ? undefined : AI_SDK_PROVIDERS[`${first}.${second}`];
  if (twoParts !== undefined) return twoParts;
  const mapped = AI_SDK_PROVIDERS[first ?? value];
  if (mapped !== undefined) return mapped;
  if (first !== undefined && first !== value && SEMCONV_PROVIDERS.has(first)) return first;
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
  const vendor = firstString(get, GEN_AI_VENDOR_KEYS);
  return { vendor: vendor === null ? null : normalizeProvider(vendor), model: firstString(get, GEN_AI_MODEL_KEYS) };
}

/** Model names on a span, best first, without repeats. */
export function modelNames(get: (key: string) => unknown): string[] {
  const models = GEN_AI_MODEL_KEYS.map((k) => get(k)).filter((m): m is string => typeof m === 'string' && m !== '');
  return [...new Set(models)];
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
  const operation = get('gen_ai.operation.name');
  if (typeof operation === 'string' && NOT_A_CALL.has(operation)) return false;
  const kind = get('openinference.span.kind');
  if (typeof kind === 'string') return OPENINFERENCE_CALL_KINDS.has(kind.toUpperCase());
  const langfuse = get('langfuse.observation.type');
  if (typeof langfuse === 'string') return LANGFUSE_CALL_TYPES.has(langfuse);
  return (
    typeof operation === 'string' ||
    firstString(get, GEN_AI_MODEL_KEYS) !== null ||
    firstString(get, GEN_AI_VENDOR_KEYS) !== null
  );
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
