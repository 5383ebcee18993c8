/**
 * One outbox row as a Polar event (docs/contract.md §9): `external_customer_id`, `external_id` (`<trace_id>:<span_id>`
 * for spans, the event's own id for events, `fixed:<allocation>` for allocated fixed costs), `name` (Polar takes
 * at most 128 characters: longer names are cut), `timestamp` (the record's start, ms precision; never later than
 * now — Polar refuses future timestamps, so a span stamped ahead of our clock goes out stamped now),
 * `metadata._cost = {amount: exact decimal string in cents, currency: "usd"}` and `metadata._llm` when the record
 * is an LLM call with known token counts (Polar requires all of vendor, model and the three counts).
 */
import { readUsage, totalInputTokens } from '../../../src/llm-usage.ts';
import { formatPicocents } from '../../../src/money.ts';
import type { OutboxRow } from './outbox.ts';

export const POLAR_MAX_NAME_LENGTH = 128;

/** Polar's `LLMMetadata`, as on the wire. */
export interface PolarLlm {
  readonly vendor: string;
  readonly model: string;
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly total_tokens: number;
  readonly cached_input_tokens?: number;
}

/** Polar's `EventCreateExternalCustomer`, as on the wire (snake_case JSON). */
export interface PolarEvent {
  readonly name: string;
  readonly external_customer_id: string;
  readonly external_id: string;
  readonly timestamp: string;
  readonly metadata: {
    readonly _cost: { readonly amount: string; readonly currency: 'usd' };
    readonly _llm?: PolarLlm;
  };
}

type Json = Record<string, unknown>;

const count = (v: unknown): number | null => {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : null;
};

/**
 * Token counts of an event (its `_llm`) or a span (read as pricing reads it: src/llm-usage.ts, so every producer's
 * attributes — GenAI, OpenInference, the AI SDK, Langfuse — give the same counts). Polar's `input_tokens` counts
 * cached tokens too (OpenAI's reading); `cached_input_tokens` is the cache reads.
 */
function llmOf(row: OutboxRow, attributes: Json): PolarLlm | null {
  if (row.llmVendor === null || row.llmModel === null) return null;
  const llm = (attributes._llm ?? null) as Json | null;
  if (llm !== null) {
    const input = count(llm.input_tokens);
    const output = count(llm.output_tokens);
    if (input === null || output === null) return null;
    const cached = count(llm.cached_input_tokens);
    return {
      vendor: row.llmVendor,
      model: row.llmModel,
      input_tokens: input,
      output_tokens: output,
      total_tokens: count(llm.total_tokens) ?? input + output,
      ...(cached === null ? {} : { cached_input_tokens: cached }),
    };
  }
  const reading = readUsage((k) => attributes[k]);
  if (reading.kind !== 'usage') return null;
  const u = reading.usage;
  const input = totalInputTokens(u);
  return {
    vendor: row.llmVendor,
    model: row.llmModel,
    input_tokens: input,
    output_tokens: u.outputTokens,
    total_tokens: input + u.outputTokens,
    ...(u.cacheReadTokens === 0 ? {} : { cached_input_tokens: u.cacheReadTokens }),
  };
}

export function polarEvent(row: OutboxRow, nowMs = Date.now()): PolarEvent {
  let attributes: Json = {};
  try {
    attributes = JSON.parse(row.attributesJson) as Json;
  } catch {
    // stored by us as JSON; an unreadable one only loses _llm
  }
  const llm = llmOf(row, attributes);
  return {
    name: row.name.length > POLAR_MAX_NAME_LENGTH ? row.name.slice(0, POLAR_MAX_NAME_LENGTH) : row.name,
    external_customer_id: row.customerId,
    external_id: row.externalId,
    timestamp: new Date(Math.min(Number(row.tsMicros / 1000n), nowMs)).toISOString(),
    metadata: {
      _cost: { amount: formatPicocents(row.costPicocents), currency: 'usd' },
      ...(llm === null ? {} : { _llm: llm }),
    },
  };
}
