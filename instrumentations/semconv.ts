/** Attribute keys the instrumentation reads and writes, named once (re-using OTel semantic conventions). */
export {
  ATTR_COST_AMOUNT,
  ATTR_COST_CURRENCY,
  ATTR_COST_SOURCE,
  ATTR_COST_UNPRICED,
  ATTR_CUSTOMER_ID,
  ATTR_REVENUE_AMOUNT,
  ATTR_REVENUE_CURRENCY,
  type CostMethod,
  DEFAULT_CURRENCY,
  SUPPORTED_CURRENCIES,
} from '../src/semconv.ts';

export const CUSTOMER_BAGGAGE_KEY = 'customer.id';
