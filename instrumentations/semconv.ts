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

export const HTTP_HOST_KEYS = ['server.address', 'net.peer.name', 'http.host'] as const;
export const HTTP_METHOD_KEYS = ['http.request.method', 'http.method'] as const;
export const HTTP_URL_KEYS = ['url.full', 'http.url'] as const;
export const HTTP_PATH_KEYS = ['url.path', 'http.target'] as const;
export const HTTP_REQUEST_SIZE_KEYS = ['http.request.body.size', 'http.request_content_length'] as const;
export const HTTP_RESPONSE_SIZE_KEYS = ['http.response.body.size', 'http.response_content_length'] as const;
export const DB_SYSTEM_KEYS = ['db.system.name', 'db.system'] as const;
export const DB_OPERATION_KEYS = ['db.operation.name', 'db.operation'] as const;
export const DB_QUERY_KEYS = ['db.query.text', 'db.statement'] as const;

export const CUSTOMER_BAGGAGE_KEY = 'customer.id';
