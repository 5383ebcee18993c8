/**
 * LLM vendor and model of a span, read in this order (GenAI semantic conventions and the emitters seen in
 * practice): semconv (`gen_ai.provider.name`, response then request model) → deprecated semconv
 * (`gen_ai.system`) → OpenInference (`llm.provider`/`llm.system`, `llm.model_name`). Vendors are lower-cased
 * (Traceloop's legacy emitters send "OpenAI").
 */
export const GEN_AI_VENDOR_KEYS = ['gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system'] as const;
export const GEN_AI_MODEL_KEYS = ['gen_ai.response.model', 'gen_ai.request.model', 'llm.model_name'] as const;

export function firstString(get: (key: string) => unknown, keys: readonly string[]): string | null {
  for (const k of keys) {
    const v = get(k);
    if (typeof v === 'string' && v !== '') return v;
  }
  return null;
}

export function llmVendorAndModel(get: (key: string) => unknown): { vendor: string | null; model: string | null } {
  const vendor = firstString(get, GEN_AI_VENDOR_KEYS);
  return { vendor: vendor === null ? null : vendor.toLowerCase(), model: firstString(get, GEN_AI_MODEL_KEYS) };
}
