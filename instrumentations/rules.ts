/**
 * Pure cost rules: from a finished span's attributes (and duration) to cents, for vendor HTTP calls and
 * database queries. The first matching rule wins. Amounts are summed as exact picocents.
 */
import type { Attributes } from '@opentelemetry/api';
import { type Picocents, parseAmount } from '../src/money.ts';
import {
  DB_OPERATION_KEYS,
  DB_QUERY_KEYS,
  DB_SYSTEM_KEYS,
  HTTP_HOST_KEYS,
  HTTP_METHOD_KEYS,
  HTTP_PATH_KEYS,
  HTTP_REQUEST_SIZE_KEYS,
  HTTP_RESPONSE_SIZE_KEYS,
  HTTP_URL_KEYS,
} from './semconv.ts';
import type { CentsRule, DbCostRule, HttpCostRule } from './types.ts';

export interface SpanFacts {
  readonly attributes: Attributes;
  readonly durationMs: number;
}

function first(attributes: Attributes, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const v = attributes[k];
    if (v !== undefined && v !== null && v !== '') return String(v);
  }
  return undefined;
}

function numberOf(attributes: Attributes, keys: readonly string[]): number {
  const v = Number(first(attributes, keys) ?? 0);
  return Number.isFinite(v) && v > 0 ? v : 0;
}

function cents(rule: CentsRule | undefined, facts: SpanFacts): Picocents {
  if (rule === undefined) return 0n;
  const value = typeof rule === 'function' ? rule(facts) : rule;
  const parsed = parseAmount(value);
  if (!parsed.ok) throw new Error(`cost rule gave ${String(value)}: ${parsed.reason}`);
  return parsed.picocents;
}

/** Multiplies a per-unit price by a quantity exactly (quantity rounded to whole units). */
function times(perUnit: number | string | undefined, quantity: number): Picocents {
  if (perUnit === undefined || quantity <= 0) return 0n;
  const parsed = parseAmount(perUnit);
  if (!parsed.ok) throw new Error(`cost rule rate ${String(perUnit)}: ${parsed.reason}`);
  return parsed.picocents * BigInt(Math.round(quantity));
}

function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase();
  return p.startsWith('*.') ? h.endsWith(p.slice(1)) : h === p;
}

function pathMatches(pattern: string | undefined, path: string): boolean {
  if (pattern === undefined) return true;
  return pattern.endsWith('*') ? path.startsWith(pattern.slice(0, -1)) : path === pattern;
}

function httpPath(attributes: Attributes): string {
  const path = first(attributes, HTTP_PATH_KEYS);
  if (path !== undefined) return path.split('?')[0] as string;
  const url = first(attributes, HTTP_URL_KEYS);
  if (url === undefined) return '';
  try {
    return new URL(url).pathname;
  } catch {
    return '';
  }
}

function httpHost(attributes: Attributes): string | undefined {
  const host = first(attributes, HTTP_HOST_KEYS);
  if (host !== undefined) return host.split(':')[0];
  const url = first(attributes, HTTP_URL_KEYS);
  if (url === undefined) return undefined;
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** Cost of an outgoing HTTP call, or null when no rule matches (or it is not an HTTP client span). */
export function httpCost(rules: readonly HttpCostRule[], facts: SpanFacts): Picocents | null {
  const host = httpHost(facts.attributes);
  const method = first(facts.attributes, HTTP_METHOD_KEYS)?.toUpperCase();
  if (host === undefined || method === undefined) return null;
  const path = httpPath(facts.attributes);
  for (const rule of rules) {
    if (!hostMatches(rule.host, host)) continue;
    if (rule.method !== undefined && rule.method.toUpperCase() !== method) continue;
    if (!pathMatches(rule.path, path)) continue;
    return (
      cents(rule.centsPerRequest, facts) +
      times(rule.centsPerRequestByte, numberOf(facts.attributes, HTTP_REQUEST_SIZE_KEYS)) +
      times(rule.centsPerResponseByte, numberOf(facts.attributes, HTTP_RESPONSE_SIZE_KEYS))
    );
  }
  return null;
}

/** Operation of a DB span: the semconv attribute, else the query's first word. */
function dbOperation(attributes: Attributes): string | undefined {
  const op = first(attributes, DB_OPERATION_KEYS);
  if (op !== undefined) return op.toUpperCase();
  return first(attributes, DB_QUERY_KEYS)?.trim().split(/\s+/)[0]?.toUpperCase();
}

/** Cost of a database call, or null when no rule matches (or it is not a DB span). */
export function dbCost(rules: readonly DbCostRule[], facts: SpanFacts): Picocents | null {
  const system = first(facts.attributes, DB_SYSTEM_KEYS);
  if (system === undefined) return null;
  const operation = dbOperation(facts.attributes);
  if (operation === undefined) return null; // not a query (e.g. pg.connect)
  for (const rule of rules) {
    if (rule.system !== undefined && rule.system !== system) continue;
    if (rule.operation !== undefined && rule.operation.toUpperCase() !== operation) continue;
    // per millisecond: priced at µs resolution, exactly
    const perMs = rule.centsPerMs === undefined ? 0n : perMillisecond(rule.centsPerMs, facts.durationMs);
    return cents(rule.centsPerQuery, facts) + perMs;
  }
  return null;
}

function perMillisecond(rate: number | string, durationMs: number): Picocents {
  const parsed = parseAmount(rate);
  if (!parsed.ok) throw new Error(`cost rule rate ${String(rate)}: ${parsed.reason}`);
  const micros = BigInt(Math.max(0, Math.round(durationMs * 1000)));
  return (parsed.picocents * micros) / 1000n;
}
