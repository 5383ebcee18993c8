import type { Picocents } from './money.ts';

/**
 * Where a record's cost came from (docs/contract.md §2, §8), in order of precedence: `provided` by the sender (the
 * SDK's `_cost.source` then says how: src/semconv.ts CostMethod), `reported` by the provider on the span
 * (`gen_ai.usage.cost`, `llm.cost.total`), `priced` by the collector's price book, `inferred` from the bundled
 * model table, or `unpriced` (token usage with no price: never $0). `allocated`: a customer's share of a fixed bill
 * (price book `fixed`), a record of its own, never a span's.
 */
export type CostSource = 'provided' | 'reported' | 'priced' | 'inferred' | 'unpriced' | 'allocated';
export const COST_SOURCES: readonly CostSource[] = [
  'provided',
  'reported',
  'priced',
  'inferred',
  'unpriced',
  'allocated',
];

/** Which rule gave a record its customer: its own attribute, an ancestor span, or its resource. */
export type CustomerSource = 'span' | 'ancestor' | 'resource';

/** JSON-safe attribute value as stored and served. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One cost-bearing (or cost-neutral) span after normalization and validation. */
export interface SpanRecord {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | null;
  readonly name: string;
  readonly kind: number;
  readonly serviceName: string | null;
  readonly scopeName: string;
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly statusCode: number;
  /** `customer.id` set on the span itself. */
  readonly customerOwn: string | null;
  /** `customer.id` of the span's resource: the fallback when no ancestor has one. */
  readonly resourceCustomer: string | null;
  readonly costPicocents: Picocents | null;
  readonly costSource: CostSource | null;
  /** The price book version that priced it (`priced`), else null. */
  readonly priceVersion: number | null;
  readonly revenuePicocents: Picocents | null;
  /** Allow-listed attributes (see KEPT_ATTRIBUTE_PREFIXES) as a JSON object text, as stored. */
  readonly attributesJson: string;
  /** LLM vendor/model (GenAI conventions), the keys cost drivers group by. */
  readonly llmVendor: string | null;
  readonly llmModel: string | null;
  /**
   * What identifies the LLM call the span describes (model family + usage, src/llm-usage.ts callKey), or null for
   * a span that is not an LLM call: the writer counts a call described by a parent and its child once.
   */
  readonly llmCall: string | null;
}

/**
 * Result of attribution: the customer found on the nearest ancestor-or-self (`chainCustomer`), and
 * whether the chain stopped at a parent not seen yet (`pending`, re-resolved when it arrives).
 */
export interface Attribution {
  readonly chainCustomer: string | null;
  readonly pending: boolean;
}

/** A record with its attribution, kept apart so attributing a batch copies no records. */
export interface AttributedSpan {
  readonly record: SpanRecord;
  readonly attribution: Attribution;
}

/** Effective customer: the chain's, else the resource's, else unattributed (null). */
export function effectiveCustomer(
  span: Pick<SpanRecord, 'customerOwn' | 'resourceCustomer'>,
  a: Attribution,
): { customerId: string | null; source: CustomerSource | null } {
  if (span.customerOwn !== null) return { customerId: span.customerOwn, source: 'span' };
  if (a.chainCustomer !== null) return { customerId: a.chainCustomer, source: 'ancestor' };
  if (span.resourceCustomer !== null) return { customerId: span.resourceCustomer, source: 'resource' };
  return { customerId: null, source: null };
}

/** A customer as a client (the customers API, a billing webhook) creates or updates it. */
export interface CustomerUpsert {
  readonly externalId: string;
  readonly name: string | null;
  readonly email: string | null;
  readonly createdAtMicros: bigint | null;
}
