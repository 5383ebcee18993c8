/**
 * The metrics questions on the ClickHouse store, over `rollup_15m` as the DuckDB store asks them (reads/metric-reads.ts):
 * per local period, revenue, costs and active customers; and the totals before a range with the distinct customers in
 * it. UTC → local time is the same arithmetic over the zone's offset segments; money comes back as exact decimal text.
 * Every value is a bound query parameter. A SummingMergeTree sums correctly before its parts merge, so no FINAL.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Picocents } from '../../src/money.ts';
import type { Interval, OffsetSegment } from '../metrics/calendar.ts';
import { identifier, type Placement } from './ddl.ts';
import { MIN_TIME_MICROS, picocentsOf } from './values.ts';

export interface ClickHouseScope {
  /** [from, to) in µs since epoch, UTC. */
  readonly fromMicros: bigint;
  readonly toMicros: bigint;
  /** Only these customers (external ids); null for everyone (unattributed included). */
  readonly customerIds: readonly string[] | null;
}

export interface BucketRow {
  readonly revenue: Picocents;
  readonly costs: Picocents;
  readonly activeUsers: number;
}

type Params = Record<string, unknown>;

function scopeSql(scope: ClickHouseScope, params: Params, prefix = ''): string {
  params[`${prefix}from`] = scope.fromMicros.toString();
  params[`${prefix}to`] = scope.toMicros.toString();
  let sql = `slot >= fromUnixTimestamp64Micro({${prefix}from:Int64}, 'UTC') AND slot < fromUnixTimestamp64Micro({${prefix}to:Int64}, 'UTC')`;
  if (scope.customerIds !== null) {
    params[`${prefix}ids`] = [...scope.customerIds];
    sql += ` AND customer_id IN {${prefix}ids:Array(String)}`;
  }
  return sql;
}

/** `slot` (UTC) shifted to local wall time. */
function localSlot(segments: readonly OffsetSegment[], params: Params): string {
  if (segments.length === 1 && segments[0]?.offsetMinutes === 0) return 'slot';
  const cases: string[] = [];
  segments.forEach((s, i) => {
    params[`off${i}`] = s.offsetMinutes;
    if (s.untilMs === null) cases.push(`{off${i}:Int32}`);
    else {
      params[`until${i}`] = (BigInt(s.untilMs) * 1000n).toString();
      cases.push(`slot < fromUnixTimestamp64Micro({until${i}:Int64}, 'UTC'), {off${i}:Int32}`);
    }
  });
  const offset = cases.length === 1 ? cases[0] : `multiIf(${cases.join(', ')})`;
  return `slot + toIntervalMinute(${offset})`;
}

/** A week starts on Monday, as DuckDB's date_trunc('week'). */
const TRUNC: Record<Interval, (x: string) => string> = {
  hour: (x) => `toStartOfHour(${x})`,
  day: (x) => `toStartOfDay(${x})`,
  week: (x) => `toMonday(${x})`,
  month: (x) => `toStartOfMonth(${x})`,
  year: (x) => `toStartOfYear(${x})`,
};

const ACTIVE = "uniqExactIf(customer_id, customer_id != '')";

async function json<T>(client: ClickHouseClient, query: string, query_params: Params): Promise<T[]> {
  const result = await client.query({
    query,
    query_params,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
  });
  return (await result.json()) as T[];
}

export async function bucketSums(
  client: ClickHouseClient,
  p: Placement,
  scope: ClickHouseScope,
  interval: Interval,
  segments: readonly OffsetSegment[],
): Promise<Map<string, BucketRow>> {
  const params: Params = {};
  const local = localSlot(segments, params);
  const where = scopeSql(scope, params);
  const rows = await json<{ bucket: string; revenue: string; costs: string; active: string }>(
    client,
    `SELECT formatDateTime(bucket, '%Y-%m-%dT%H:00:00') AS bucket, toString(revenue) AS revenue,
       toString(costs) AS costs, active FROM (
       SELECT ${TRUNC[interval](`toDateTime(${local}, 'UTC')`)} AS bucket, sum(revenue) AS revenue, sum(costs) AS costs,
         ${ACTIVE} AS active
       FROM ${identifier('database', p.database)}.rollup_15m WHERE ${where} GROUP BY bucket)`,
    params,
  );
  return new Map(
    rows.map((r) => [
      r.bucket,
      {
        revenue: picocentsOf(r.revenue) ?? 0n,
        costs: picocentsOf(r.costs) ?? 0n,
        activeUsers: Number(r.active),
      },
    ]),
  );
}

/** Revenue and costs before the range (what cumulative series start from), and distinct customers in it. */
export async function rangeTotals(
  client: ClickHouseClient,
  p: Placement,
  scope: ClickHouseScope,
): Promise<{ revenueBefore: Picocents; costsBefore: Picocents; distinctActive: number }> {
  const params: Params = {};
  const db = identifier('database', p.database);
  const before = scopeSql({ ...scope, fromMicros: MIN_TIME_MICROS, toMicros: scope.fromMicros }, params, 'b_');
  const inRange = scopeSql(scope, params, 'r_');
  const [row] = await json<{ revenue: string; costs: string; active: string }>(
    client,
    `SELECT
       (SELECT toString(sum(revenue)) FROM ${db}.rollup_15m WHERE ${before}) AS revenue,
       (SELECT toString(sum(costs)) FROM ${db}.rollup_15m WHERE ${before}) AS costs,
       (SELECT ${ACTIVE} FROM ${db}.rollup_15m WHERE ${inRange}) AS active`,
    params,
  );
  return {
    revenueBefore: picocentsOf(row?.revenue ?? '0') ?? 0n,
    costsBefore: picocentsOf(row?.costs ?? '0') ?? 0n,
    distinctActive: Number(row?.active ?? 0),
  };
}
