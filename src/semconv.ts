/**
 * Attribute keys, named once. costtrace-specific keys follow docs/contract (docs/contract.md §2);
 * everything else re-uses OpenTelemetry semantic-convention names.
 */
export const ATTR_CUSTOMER_ID = 'customer.id';
export const ATTR_SERVICE_NAME = 'service.name';

/** Flat form: `_cost.amount` + `_cost.currency`; kvlist form: `_cost = {amount, currency}`. */
export const ATTR_COST = '_cost';
export const ATTR_COST_AMOUNT = '_cost.amount';
export const ATTR_COST_CURRENCY = '_cost.currency';
export const ATTR_REVENUE = '_revenue';
export const ATTR_REVENUE_AMOUNT = '_revenue.amount';
export const ATTR_REVENUE_CURRENCY = '_revenue.currency';

/** Currencies accepted for `_cost` / `_revenue` (compared case-insensitively), and the one written by default. */
export const DEFAULT_CURRENCY = 'usd';
export const SUPPORTED_CURRENCIES: ReadonlySet<string> = new Set([DEFAULT_CURRENCY]);

/**
 * How the SDK computed a span's `_cost` (`_cost.source`). The collector stores every SDK-computed cost as
 * `cost_source: provided` (docs/contract.md §2) and keeps this finer method among the span's attributes.
 */
export const ATTR_COST_SOURCE = '_cost.source';
export type CostMethod = 'llm_price_table' | 'reported' | 'http_rule' | 'db_rule' | 'manual';
/** Set (true) on an LLM span whose model has no known price: never priced at $0. */
export const ATTR_COST_UNPRICED = '_cost.unpriced';

/**
 * Attribute key prefixes kept on stored spans (shown in cost traces and used for cost drivers).
 * Everything else is dropped at ingest: spans can carry large payloads we have no use for.
 */
export const KEPT_ATTRIBUTE_PREFIXES: readonly string[] = [
  'gen_ai.',
  'llm.',
  'http.',
  'url.',
  'server.',
  'db.',
  'rpc.',
  'messaging.',
];
// Beside these, every key the GenAI readings use is kept (src/llm-usage.ts READING_ATTRIBUTE_KEYS).

/** Set by the collector on a span that repeats the call of its LLM parent or child (counted once, on that one). */
export const ATTR_COST_DUPLICATE_OF = '_cost.duplicate_of';
/** Set by the collector on an `unpriced` span: why (no usage, unreadable usage, no price for the model…). */
export const ATTR_COST_UNPRICED_REASON = '_cost.unpriced_reason';
