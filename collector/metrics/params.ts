/**
 * Validates `/v1/metrics`-style parameters into a query; every problem is a 422 with its location.
 * Dates are calendar days in the requested zone; `end_date` is inclusive.
 */
import { InputError } from '../http/errors.ts';
import {
  DATE_FORMAT,
  dayNumber,
  type Interval,
  isValidTimeZone,
  type LocalTime,
  MAX_RANGE_DAYS,
  parseCivilDate,
} from './calendar.ts';
import { expandWithDependencies, isMetricSlug, METRIC_SLUGS, type MetricSlug } from './definitions.ts';

export interface RawMetricsQuery {
  start_date: string;
  end_date: string;
  interval: Interval;
  timezone?: string;
  customer_id?: string[];
  metrics?: string[];
}

export interface MetricsQuery {
  readonly start: LocalTime;
  readonly end: LocalTime;
  readonly interval: Interval;
  readonly timezone: string;
  readonly customerIds: readonly string[] | null;
  readonly slugs: readonly MetricSlug[];
}

type Issue = { loc: Array<string | number>; msg: string; type: string };

export function parseLocalDate(
  value: string,
  name: string,
  issues: Issue[],
  where: 'query' | 'body' = 'query',
): LocalTime | null {
  const date = parseCivilDate(value);
  if (date) return { ...date, h: 0 };
  issues.push({ loc: [where, name], msg: `"${clip(value)}" ${DATE_FORMAT}`, type: 'value_error' });
  return null;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/** Start/end dates and zone shared by every windowed endpoint. */
export function parseWindow(
  q: { start_date: string; end_date: string; timezone?: string },
  issues: Issue[],
): { start: LocalTime; end: LocalTime; timezone: string } | null {
  const start = parseLocalDate(q.start_date, 'start_date', issues);
  const end = parseLocalDate(q.end_date, 'end_date', issues);
  const timezone = q.timezone ?? 'UTC';
  if (!isValidTimeZone(timezone)) {
    issues.push({
      loc: ['query', 'timezone'],
      msg: `unknown time zone "${timezone}" (use an IANA name)`,
      type: 'value_error',
    });
  }
  if (start && end && dayNumber(end.y, end.m, end.d) < dayNumber(start.y, start.m, start.d)) {
    issues.push({ loc: ['query', 'end_date'], msg: 'end_date is before start_date', type: 'value_error' });
  }
  if (issues.length > 0 || !start || !end) return null;
  return { start, end, timezone };
}

/** The longest range an interval allows (MAX_RANGE_DAYS). */
export function checkRange(window: { start: LocalTime; end: LocalTime }, interval: Interval, issues: Issue[]): void {
  const days =
    dayNumber(window.end.y, window.end.m, window.end.d) - dayNumber(window.start.y, window.start.m, window.start.d);
  const max = MAX_RANGE_DAYS[interval];
  if (days > max) {
    issues.push({
      loc: ['query', 'end_date'],
      msg: `interval "${interval}" allows at most ${max} days between start_date and end_date; got ${days}`,
      type: 'value_error',
    });
  }
}

export function parseMetricsQuery(q: RawMetricsQuery): MetricsQuery {
  const issues: Issue[] = [];
  const window = parseWindow(q, issues);
  const unknown = (q.metrics ?? []).filter((s) => !isMetricSlug(s));
  if (unknown.length > 0) {
    issues.push({
      loc: ['query', 'metrics'],
      msg: `unknown metric ${unknown.map((s) => `"${s}"`).join(', ')}; known: ${METRIC_SLUGS.join(', ')}`,
      type: 'value_error',
    });
  }
  if (window) checkRange(window, q.interval, issues);
  if (issues.length > 0 || !window) throw new InputError(issues);
  const requested = (q.metrics ?? []).filter(isMetricSlug);
  return {
    ...window,
    interval: q.interval,
    customerIds: q.customer_id && q.customer_id.length > 0 ? q.customer_id : null,
    slugs: requested.length > 0 ? expandWithDependencies(requested) : [...METRIC_SLUGS],
  };
}
