/** costtrace instrumentation: customer context, cost on LLM/HTTP/DB spans, manual cost and revenue. */
export { currentCustomer, setCustomer, withCustomer } from './customer.ts';
export { recordCost, recordRevenue } from './manual.ts';
export { CostSpanProcessor } from './processors/cost-processor.ts';
export { CustomerSpanProcessor } from './processors/customer-processor.ts';
export { type CostTracing, costSpanProcessors, DEFAULT_TRACES_ENDPOINT, startCostTracing } from './start.ts';
export type { CentsRule, CostRules, CostTracingOptions, DbCostRule, HttpCostRule } from './types.ts';
