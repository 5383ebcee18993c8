/**
 * One outbox row as a Polar event (CONTRACT.md §9): `external_customer_id`, `external_id` (`<trace_id>:<span_id>`
 * for spans, the event's own id for events, `fixed:<allocation>` for allocated fixed costs), `name` (Polar takes
 * at most 128 characters: longer names are cut), `timestamp` (the record's start, ms precision; never later than
 * now — Polar refuses future timestamps, so a span stamped ahead of our clock goes out stamped now),
 * `metadata._cost = {amount: exact decimal string in cents, currency: "usd"}` and `metadata._llm` when the record
 * is an LLM call with known token counts (Polar requires all of vendor, model and the three counts).
 */
import { formatPicocents } from '../../src/money.ts';
import type { OutboxRow } from '../store/outbox.ts';

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

/** Token counts of an event (`_llm`) or a span (GenAI attributes, current and older names). */
function llmOf(row: OutboxRow, attributes: Json): PolarLlm | null {
  if (row.llmVendor === null || row.llmModel === null) return null;
  const llm = (attributes._llm ?? null) as Json | null;
  const input = count(
    llm?.input_tokens ?? attributes['gen_ai.usage.input_tokens'] ?? attributes['gen_ai.usage.prompt_tokens'],
  );
  const output = count(
    llm?.output_tokens ?? attributes['gen_ai.usage.output_tokens'] ?? attributes['gen_ai.usage.completion_tokens'],
  );
  if (input === null || output === null) return null;
  const cached = count(
    llm?.cached_input_tokens ??
      attributes['gen_ai.usage.cache_read.input_tokens'] ??
      attributes['gen_ai.usage.cache_read_input_tokens'],
  );
  return {
    vendor: row.llmVendor,
    model: row.llmModel,
    input_tokens: input,
    output_tokens: output,
    total_tokens: count(llm?.total_tokens) ?? input + output,
    ...(cached === null ? {} : { cached_input_tokens: cached }),
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
