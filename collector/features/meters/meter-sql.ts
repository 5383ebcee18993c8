/**
 * The SQL of a meter definition (features/meters/definition.ts), in one place: which rows of a `records`-shaped relation
 * match, and the value each contributes. Every user-supplied string is a bound parameter.
 */

import { MAX_METER_VALUE } from '../../core/limits.ts';
import type { SqlValue } from '../../db/sql.ts';
import { attributePaths, type Meter } from './definition.ts';

type Param = SqlValue;

/** An attribute's text: the flat key first, then the nested path. */
function attributeText(key: string): { sql: string; params: Param[] } {
  const paths = attributePaths(key);
  const parts = paths.map(() => 'json_extract_string(r.attributes, ?)');
  return { sql: parts.length === 1 ? (parts[0] as string) : `coalesce(${parts.join(', ')})`, params: paths };
}

/** The WHERE clause (over alias `r`) a meter matches with. */
export function meterMatch(m: Meter): { sql: string; params: Param[] } {
  const params: Param[] = [];
  const kinds: string[] = [];
  if (m.filter.eventName !== null) {
    kinds.push(`(r.source = 'event' AND r.name = ?)`);
    params.push(m.filter.eventName);
  }
  if (m.filter.spanName !== null) {
    kinds.push(`(r.source = 'span' AND r.name = ?)`);
    params.push(m.filter.spanName);
  }
  let sql = kinds.length > 0 ? `(${kinds.join(' OR ')})` : `r.source IN ('event', 'span')`;
  for (const [key, value] of m.filter.attributes) {
    const text = attributeText(key);
    sql += ` AND ${text.sql} = ?`;
    params.push(...text.params, value);
  }
  return { sql, params };
}

/**
 * The value a matching row adds: NULL for `count`; the property as exact DECIMAL(38,12) for `sum`/`max` (not a
 * number, or beyond ±MAX_METER_VALUE → NULL: counted, not summed); the property's text for `unique`.
 */
export function meterValue(m: Meter): { sql: string; params: Param[] } {
  if (m.property === null) return { sql: 'NULL::DECIMAL(38,12)', params: [] };
  const text = attributeText(m.property);
  if (m.func === 'unique') return text;
  const limit = MAX_METER_VALUE.toString();
  const number = `TRY_CAST(${text.sql} AS DECIMAL(38,12))`;
  return {
    sql: `CASE WHEN abs(${number}) <= ${limit} THEN ${number} END`,
    params: [...text.params, ...text.params],
  };
}

/** One meter's parts from `relation` (a table or subquery, aliased r here): meter_id, customer_key (0 = nobody), 15-minute slot, value. */
export function meterParts(m: Meter, relation: string, relationParams: Param[] = []): { sql: string; params: Param[] } {
  const value = meterValue(m);
  const match = meterMatch(m);
  return {
    sql: `SELECT ?::VARCHAR AS meter_id, coalesce(r.customer_key, 0) AS customer_key,
        time_bucket(INTERVAL 15 MINUTE, r.ts) AS slot, ${value.sql} AS v
      FROM ${relation} r WHERE ${match.sql}`,
    params: [m.id, ...value.params, ...relationParams, ...match.params],
  };
}
