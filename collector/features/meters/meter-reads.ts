/**
 * Meter quantities (docs/contract.md §11) from `meter_totals` / `meter_slots` / `meter_values` (kept at ingest, meters.ts) plus the
 * spans still waiting for their customer, read live from `records` (there are few). Periods in a time zone are
 * unions of 15-minute slots, as for `/v1/metrics`. Quantities are exact decimal text (12 decimal places).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Picocents } from '../../../src/money.ts';
import { decimal } from '../../db/money-values.ts';
import { col, num, one, rows, type SqlValue } from '../../db/sql.ts';
import type { Interval, OffsetSegment } from '../../metrics/calendar.ts';
import { localTimeExpr, type MetricScope, scopeFilter } from '../../reads/metric-reads.ts';
import type { Meter } from './definition.ts';
import { meterParts } from './meter-sql.ts';

type Param = SqlValue;

/** A meter's quantity as the fixed-point bigint money uses (value × 10^12). */
export type Quantity = Picocents;

/**
 * CTE `parts` of a meter in a scope: stored slots plus the live pending spans, in one shape. Numeric meters read
 * `meter_totals` when the scope is every customer, `meter_slots` when it names customers.
 */
function partsCte(m: Meter, scope: MetricScope): { sql: string; params: Param[] } {
  const stored = scopeFilter(scope, 'slot');
  const live = meterParts(
    m,
    `(SELECT * FROM records WHERE attribution_pending = true AND source = 'span'
        AND ts >= make_timestamp(?::BIGINT) AND ts < make_timestamp(?::BIGINT))`,
    [scope.fromMicros, scope.toMicros],
  );
  if (m.func === 'unique') {
    return {
      sql: `parts AS (
        SELECT customer_key, slot, value FROM meter_values WHERE meter_id = ? AND ${stored.sql}
        UNION ALL
        SELECT customer_key, slot, v FROM (${live.sql}) WHERE v IS NOT NULL AND ${stored.sql})`,
      params: [m.id, ...stored.params, ...live.params, ...stored.params],
    };
  }
  const slots =
    scope.customerKeys === null
      ? `SELECT NULL::INTEGER AS customer_key, slot, events, total, maximum FROM meter_totals`
      : `SELECT customer_key, slot, events, total, maximum FROM meter_slots`;
  return {
    sql: `parts AS (
      ${slots} WHERE meter_id = ? AND ${stored.sql}
      UNION ALL
      SELECT customer_key, slot, count(*), coalesce(sum(v), 0), max(v) FROM (${live.sql}) WHERE ${stored.sql} GROUP BY ALL)`,
    params: [m.id, ...stored.params, ...live.params, ...stored.params],
  };
}

const AGGREGATE: Record<Meter['func'], string> = {
  count: 'sum(events)',
  sum: 'sum(total)',
  max: 'max(maximum)',
  unique: 'count(DISTINCT value)',
};

function aggregate(m: Meter): string {
  return `coalesce(${AGGREGATE[m.func]}, 0)::VARCHAR`;
}

/** The quantity of a union of periods from theirs: exact for count, sum and max (not for unique). */
function combine(m: Meter, quantities: Iterable<Quantity>): Quantity {
  let out = 0n;
  let first = true;
  for (const q of quantities) {
    out = m.func === 'max' ? (first || q > out ? q : out) : out + q;
    first = false;
  }
  return out;
}

/** Quantity per local period start ('YYYY-MM-DDTHH:00:00') with activity, and over the whole scope. */
export async function meterQuantities(
  conn: DuckDBConnection,
  m: Meter,
  scope: MetricScope,
  interval: Interval,
  segments: readonly OffsetSegment[],
): Promise<{ periods: Map<string, Quantity>; total: Quantity }> {
  const cte = partsCte(m, scope);
  const local = localTimeExpr(segments, 'slot');
  const buckets = await rows(
    conn,
    `WITH ${cte.sql} SELECT strftime(bucket, '%Y-%m-%dT%H:00:00') AS bucket_text, ${aggregate(m)} AS q
     FROM (SELECT date_trunc(?, ${local.sql}) AS bucket, * FROM parts) GROUP BY bucket`,
    [...cte.params, interval, ...local.params],
    (r) => [String(col(r, 'bucket_text')), decimal(col(r, 'q'))] as const,
  );
  const periods = new Map<string, Quantity>(buckets);
  if (m.func !== 'unique') return { periods, total: combine(m, periods.values()) };
  // Distinct values over the whole scope: not the sum of each period's.
  const total = await one(conn, `WITH ${cte.sql} SELECT ${aggregate(m)} AS q FROM parts`, cte.params, (r) =>
    col(r, 'q'),
  );
  return { periods, total: decimal(total) };
}

/** Quantity per customer (by external id) in [from, to), for the named customers. */
export async function meterUnitsByCustomer(
  conn: DuckDBConnection,
  m: Meter,
  window: { fromMicros: bigint; toMicros: bigint },
  externalIds: readonly string[],
): Promise<Map<string, Quantity>> {
  const out = new Map<string, Quantity>();
  if (externalIds.length === 0) return out;
  const ids = await rows(
    conn,
    `SELECT customer_key, external_id FROM customers WHERE external_id IN (${externalIds.map(() => '?').join(', ')})`,
    externalIds,
    (r) => [num(r, 'customer_key'), String(col(r, 'external_id'))] as const,
  );
  const idOf = new Map(ids);
  const cte = partsCte(m, { ...window, customerKeys: [...idOf.keys()] });
  const quantities = await rows(
    conn,
    `WITH ${cte.sql} SELECT customer_key, ${aggregate(m)} AS q FROM parts GROUP BY customer_key`,
    cte.params,
    (r) => [num(r, 'customer_key'), decimal(col(r, 'q'))] as const,
  );
  for (const [key, q] of quantities) out.set(idOf.get(key) as string, q);
  return out;
}
