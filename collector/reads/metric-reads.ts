/**
 * SQL for the metrics API, over `rollup_15m` (activity per customer per 15 minutes, kept at ingest) rather
 * than every record. Everything user-supplied is bound as a parameter; UTC → local time is arithmetic over
 * the zone's offset segments (computed in JS from the tz database), far cheaper per row than a tz
 * conversion. Money comes back as exact decimal text.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Picocents } from '../../src/money.ts';
import { decimal } from '../db/money-values.ts';
import { col, num, one, rows, type SqlValue } from '../db/sql.ts';
import { UNATTRIBUTED_KEY } from '../derived/rollup.ts';
import type { Interval, OffsetSegment } from '../metrics/calendar.ts';

// The money decoders, where the reads have always found them.

export interface MetricScope {
  /** [from, to) in µs since epoch, UTC. */
  readonly fromMicros: bigint;
  readonly toMicros: bigint;
  /** Only these customers; null for everyone (unattributed cost included). */
  readonly customerKeys: readonly number[] | null;
}

type Param = SqlValue;

export function scopeFilter(scope: MetricScope, column = 'ts'): { sql: string; params: Param[] } {
  const params: Param[] = [scope.fromMicros, scope.toMicros];
  let sql = `${column} >= make_timestamp(?::BIGINT) AND ${column} < make_timestamp(?::BIGINT)`;
  if (scope.customerKeys !== null) {
    if (scope.customerKeys.length === 0) sql += ' AND false';
    else {
      sql += ` AND customer_key IN (${scope.customerKeys.map(() => '?').join(', ')})`;
      params.push(...scope.customerKeys);
    }
  }
  return { sql, params };
}

/** `column` (UTC) shifted to local wall time. */
export function localTimeExpr(segments: readonly OffsetSegment[], column = 'ts'): { sql: string; params: Param[] } {
  if (segments.length === 1) {
    const only = segments[0] as OffsetSegment;
    return only.offsetMinutes === 0
      ? { sql: column, params: [] }
      : { sql: `${column} + to_minutes(?::BIGINT)`, params: [only.offsetMinutes] };
  }
  const params: Param[] = [];
  let sql = `${column} + to_minutes(CASE`;
  for (const s of segments) {
    if (s.untilMs === null) {
      sql += ' ELSE ?::BIGINT END)';
      params.push(s.offsetMinutes);
    } else {
      sql += ` WHEN ${column} < make_timestamp(?::BIGINT) THEN ?::BIGINT`;
      params.push(BigInt(s.untilMs) * 1000n, s.offsetMinutes);
    }
  }
  return { sql, params };
}

/** Distinct customers with activity; key 0 holds unattributed records and is nobody. */
const ACTIVE_CUSTOMERS = `count(DISTINCT customer_key) FILTER (WHERE customer_key <> ${UNATTRIBUTED_KEY})`;

export interface BucketRow {
  readonly revenue: Picocents;
  readonly costs: Picocents;
  readonly activeUsers: number;
}

export async function bucketSums(
  conn: DuckDBConnection,
  scope: MetricScope,
  interval: Interval,
  segments: readonly OffsetSegment[],
): Promise<Map<string, BucketRow>> {
  const local = localTimeExpr(segments, 'slot');
  const filter = scopeFilter(scope, 'slot');
  const buckets = await rows(
    conn,
    // Group by the truncated timestamp and format only the few resulting buckets (formatting every slot
    // first cost as much as the aggregation itself).
    `SELECT strftime(bucket, '%Y-%m-%dT%H:00:00') AS bucket_text, revenue::VARCHAR AS revenue_text,
       costs::VARCHAR AS costs_text,
       active FROM (
       SELECT date_trunc(?, ${local.sql}) AS bucket, sum(revenue) AS revenue, sum(costs) AS costs,
         ${ACTIVE_CUSTOMERS} AS active
       FROM rollup_15m WHERE ${filter.sql} GROUP BY bucket)`,
    [interval, ...local.params, ...filter.params],
    (r): [string, BucketRow] => [
      String(col(r, 'bucket_text')),
      { revenue: decimal(col(r, 'revenue_text')), costs: decimal(col(r, 'costs_text')), activeUsers: num(r, 'active') },
    ],
  );
  return new Map(buckets);
}

/** Revenue and costs before the range (what cumulative series start from), and distinct customers in it. */
export async function rangeTotals(
  conn: DuckDBConnection,
  scope: MetricScope,
): Promise<{ revenueBefore: Picocents; costsBefore: Picocents; distinctActive: number }> {
  const inRange = scopeFilter(scope, 'slot');
  const before = scopeFilter({ ...scope, fromMicros: -(2n ** 62n), toMicros: scope.fromMicros }, 'slot');
  const totals = await one(
    conn,
    `SELECT (SELECT coalesce(sum(revenue), 0)::VARCHAR FROM rollup_15m WHERE ${before.sql}) AS revenue,
            (SELECT coalesce(sum(costs), 0)::VARCHAR FROM rollup_15m WHERE ${before.sql}) AS costs,
            (SELECT ${ACTIVE_CUSTOMERS} FROM rollup_15m WHERE ${inRange.sql}) AS active`,
    [...before.params, ...before.params, ...inRange.params],
    (r) => ({ revenue: col(r, 'revenue'), costs: col(r, 'costs'), active: col(r, 'active') }),
  );
  return {
    revenueBefore: decimal(totals?.revenue),
    costsBefore: decimal(totals?.costs),
    distinctActive: Number(totals?.active),
  };
}

export async function customerKeysOf(conn: DuckDBConnection, externalIds: readonly string[]): Promise<number[]> {
  if (externalIds.length === 0) return [];
  return rows(
    conn,
    `SELECT customer_key FROM customers WHERE external_id IN (${externalIds.map(() => '?').join(', ')})`,
    externalIds,
    (r) => num(r, 'customer_key'),
  );
}
