/**
 * Pure cost rules: from a finished span's attributes (and duration) to cents, for vendor HTTP calls and
 * database queries. The first matching rule wins. Amounts are summed as exact picocents.
 */
import type { Attributes } from '@opentelemetry/api';
import { type Picocents, parseAmount } from '../src/money.ts';
import { dbCall, dbRuleMatches, httpCall, httpRuleMatches } from '../src/rule-match.ts';
import type { CentsRule, DbCostRule, HttpCostRule } from './types.ts';

export interface SpanFacts {
  readonly attributes: Attributes;
  readonly durationMs: number;
}

function cents(rule: CentsRule | undefined, facts: SpanFacts): Picocents {
  if (rule === undefined) return 0n;
  const value = typeof rule === 'function' ? rule(facts) : rule;
  const parsed = parseAmount(value);
  if (!parsed.ok) throw new Error(`cost rule gave ${String(value)}: ${parsed.reason}`);
  return parsed.picocents;
}

/** Multiplies a per-unit price by a quantity exactly (quantity in whole units). */
function times(perUnit: number | string | undefined, quantity: number): Picocents {
  if (perUnit === undefined || quantity <= 0) return 0n;
  const parsed = parseAmount(perUnit);
  if (!parsed.ok) throw new Error(`cost rule rate ${String(perUnit)}: ${parsed.reason}`);
  return parsed.picocents * BigInt(quantity);
}

/** Cost of an outgoing HTTP call, or null when no rule matches (or it is not an HTTP client span). */
export function httpCost(rules: readonly HttpCostRule[], facts: SpanFacts): Picocents | null {
  const call = httpCall((k) => facts.attributes[k]);
  if (call === null) return null;
  const rule = rules.find((r) => httpRuleMatches(r, call));
  if (rule === undefined) return null;
  return (
    cents(rule.centsPerRequest, facts) +
    times(rule.centsPerRequestByte, call.requestBytes) +
    times(rule.centsPerResponseByte, call.responseBytes)
  );
}

/** Cost of a database call, or null when no rule matches (or it is not a DB span). */
export function dbCost(rules: readonly DbCostRule[], facts: SpanFacts): Picocents | null {
  const call = dbCall((k) => facts.attributes[k]);
  if (call === null) return null; // not a query (e.g. pg.connect)
  const rule = rules.find((r) => dbRuleMatches(r, call));
  if (rule === undefined) return null;
  // per millisecond: priced at µs resolution, exactly
  const perMs = rule.centsPerMs === undefined ? 0n : perMillisecond(rule.centsPerMs, facts.durationMs);
  return cents(rule.centsPerQuery, facts) + perMs;
}

function perMillisecond(rate: number | string, durationMs: number): Picocents {
  const parsed = parseAmount(rate);
  if (!parsed.ok) throw new Error(`cost rule rate ${String(rate)}: ${parsed.reason}`);
  const micros = BigInt(Math.max(0, Math.round(durationMs * 1000)));
  return (parsed.picocents * micros) / 1000n;
}
