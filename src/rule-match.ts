/**
 * What HTTP-client and database spans say about themselves, and how a rule's host/path/method/system/operation
 * matches them — one matcher for the SDK's in-app rules (instrumentations/rules.ts) and the collector's price
 * book (collector/features/prices/price-span.ts). Current and older semantic-convention names are read, newest first.
 * Attributes come through `get(key)` so either side's attribute container works.
 */
export const HTTP_HOST_KEYS = ['server.address', 'net.peer.name', 'http.host'] as const;
export const HTTP_METHOD_KEYS = ['http.request.method', 'http.method'] as const;
export const HTTP_URL_KEYS = ['url.full', 'http.url'] as const;
export const HTTP_PATH_KEYS = ['url.path', 'http.target'] as const;
export const HTTP_REQUEST_SIZE_KEYS = ['http.request.body.size', 'http.request_content_length'] as const;
export const HTTP_RESPONSE_SIZE_KEYS = ['http.response.body.size', 'http.response_content_length'] as const;
export const DB_SYSTEM_KEYS = ['db.system.name', 'db.system'] as const;
export const DB_OPERATION_KEYS = ['db.operation.name', 'db.operation'] as const;
export const DB_QUERY_KEYS = ['db.query.text', 'db.statement'] as const;

export type AttributeGetter = (key: string) => unknown;

function first(get: AttributeGetter, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const v = get(k);
    if (v !== undefined && v !== null && v !== '') return String(v);
  }
  return undefined;
}

/** A non-negative count from the first key present (else 0). */
function countOf(get: AttributeGetter, keys: readonly string[]): number {
  const v = Number(first(get, keys) ?? 0);
  return Number.isFinite(v) && v > 0 ? Math.round(v) : 0;
}

function urlPart(get: AttributeGetter, part: 'hostname' | 'pathname'): string | undefined {
  const url = first(get, HTTP_URL_KEYS);
  if (url === undefined) return undefined;
  try {
    return new URL(url)[part];
  } catch {
    return undefined;
  }
}

export interface HttpCall {
  /** Lower case, without port. */
  readonly host: string;
  /** Upper case. */
  readonly method: string;
  /** Without query string ('' when unknown). */
  readonly path: string;
  readonly requestBytes: number;
  readonly responseBytes: number;
}

/** The outgoing HTTP call a span describes, or null when it names no host or method. */
export function httpCall(get: AttributeGetter): HttpCall | null {
  const host = first(get, HTTP_HOST_KEYS)?.split(':')[0] ?? urlPart(get, 'hostname');
  const method = first(get, HTTP_METHOD_KEYS)?.toUpperCase();
  if (host === undefined || method === undefined) return null;
  const path = first(get, HTTP_PATH_KEYS)?.split('?')[0] ?? urlPart(get, 'pathname') ?? '';
  return {
    host: host.toLowerCase(),
    method,
    path,
    requestBytes: countOf(get, HTTP_REQUEST_SIZE_KEYS),
    responseBytes: countOf(get, HTTP_RESPONSE_SIZE_KEYS),
  };
}

export interface DbCall {
  /** As sent (`postgresql`); rules compare lower case. */
  readonly system: string;
  /** Upper case: the semconv operation, else the query's first word. */
  readonly operation: string;
}

/** The database query a span describes, or null when it is not one (no system, or no operation: a connect). */
export function dbCall(get: AttributeGetter): DbCall | null {
  const system = first(get, DB_SYSTEM_KEYS);
  if (system === undefined) return null;
  const operation =
    first(get, DB_OPERATION_KEYS)?.toUpperCase() ?? first(get, DB_QUERY_KEYS)?.trim().split(/\s+/)[0]?.toUpperCase();
  if (operation === undefined || operation === '') return null;
  return { system, operation };
}

/** Host pattern: exact, or `*.example.com` for any subdomain (case-insensitive). */
export function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  return p.startsWith('*.') ? host.endsWith(p.slice(1)) : host === p;
}

/** Path pattern: exact, or ending in `*` for a prefix; absent matches any path. */
export function pathMatches(pattern: string | null | undefined, path: string): boolean {
  if (pattern === undefined || pattern === null) return true;
  return pattern.endsWith('*') ? path.startsWith(pattern.slice(0, -1)) : path === pattern;
}

/** Whether an HTTP rule (host, optional method and path) matches the call. */
export function httpRuleMatches(
  rule: { readonly host: string; readonly method?: string | null; readonly path?: string | null },
  call: HttpCall,
): boolean {
  if (!hostMatches(rule.host, call.host)) return false;
  if (rule.method !== undefined && rule.method !== null && rule.method.toUpperCase() !== call.method) return false;
  return pathMatches(rule.path, call.path);
}

/** Whether a DB rule (optional system and operation) matches the call. */
export function dbRuleMatches(
  rule: { readonly system?: string | null; readonly operation?: string | null },
  call: DbCall,
): boolean {
  if (rule.system !== undefined && rule.system !== null && rule.system.toLowerCase() !== call.system.toLowerCase()) {
    return false;
  }
  return rule.operation === undefined || rule.operation === null || rule.operation.toUpperCase() === call.operation;
}
