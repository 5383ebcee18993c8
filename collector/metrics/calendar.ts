/**
 * Calendar arithmetic for metric periods, in the requested IANA time zone. Periods are local calendar
 * units: the start date snaps back to the start of its interval (week = Monday, month = the 1st, year =
 * 1 Jan), as Polar does. Local wall times are plain `{y, m, d, h}` values; instants come from Intl, so
 * DST and half-hour zones (Asia/Kolkata) are handled by the platform's tz database.
 */
import { MAX_DATE, MIN_DATE } from '../core/limits.ts';

export type Interval = 'hour' | 'day' | 'week' | 'month' | 'year';

/** Maximum range per interval, in days (Polar's `/v1/metrics/limits`). */
export const MAX_RANGE_DAYS: Record<Interval, number> = { hour: 7, day: 366, week: 371, month: 1460, year: 3650 };

export interface LocalTime {
  readonly y: number;
  readonly m: number; // 1–12
  readonly d: number;
  readonly h: number;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Message for a date parameter that is not a real `YYYY-MM-DD` day inside the storable range. */
export const DATE_FORMAT = `is not a valid date (YYYY-MM-DD, from ${MIN_DATE} to ${MAX_DATE})`;

/**
 * A `YYYY-MM-DD` parameter as a civil date, or null when it is not a real calendar day (2024-02-30) or lies
 * outside the days that can hold stored times (MIN_DATE..MAX_DATE). The one date check of the read API.
 */
export function parseCivilDate(value: string): { y: number; m: number; d: number } | null {
  const match = DATE_RE.exec(value);
  if (!match || value < MIN_DATE || value > MAX_DATE) return null;
  const t = { y: Number(match[1]), m: Number(match[2]), d: Number(match[3]) };
  const back = new Date(Date.UTC(t.y, t.m - 1, t.d));
  const real = back.getUTCFullYear() === t.y && back.getUTCMonth() + 1 === t.m && back.getUTCDate() === t.d;
  return real ? t : null;
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Day number since 1970-01-01 of a civil date (proleptic Gregorian). */
export function dayNumber(y: number, m: number, d: number): number {
  return Math.floor(Date.UTC(y, m - 1, d) / 86_400_000);
}

function fromDayNumber(n: number, h = 0): LocalTime {
  const dt = new Date(n * 86_400_000);
  return { y: dt.getUTCFullYear(), m: dt.getUTCMonth() + 1, d: dt.getUTCDate(), h };
}

export function snapStart(t: LocalTime, interval: Interval): LocalTime {
  switch (interval) {
    case 'hour':
    case 'day':
      return { ...t, h: 0 };
    case 'week': {
      const n = dayNumber(t.y, t.m, t.d);
      const weekday = (new Date(n * 86_400_000).getUTCDay() + 6) % 7; // Monday = 0
      return fromDayNumber(n - weekday);
    }
    case 'month':
      return { y: t.y, m: t.m, d: 1, h: 0 };
    case 'year':
      return { y: t.y, m: 1, d: 1, h: 0 };
  }
}

export function nextPeriod(t: LocalTime, interval: Interval): LocalTime {
  switch (interval) {
    case 'hour':
      return t.h < 23 ? { ...t, h: t.h + 1 } : fromDayNumber(dayNumber(t.y, t.m, t.d) + 1);
    case 'day':
      return fromDayNumber(dayNumber(t.y, t.m, t.d) + 1);
    case 'week':
      return fromDayNumber(dayNumber(t.y, t.m, t.d) + 7);
    case 'month':
      return t.m === 12 ? { y: t.y + 1, m: 1, d: 1, h: 0 } : { y: t.y, m: t.m + 1, d: 1, h: 0 };
    case 'year':
      return { y: t.y + 1, m: 1, d: 1, h: 0 };
  }
}

/** Local period starts from the snapped start through the end date (inclusive). */
export function periodStarts(start: LocalTime, endInclusive: LocalTime, interval: Interval): LocalTime[] {
  const endExclusive = fromDayNumber(dayNumber(endInclusive.y, endInclusive.m, endInclusive.d) + 1);
  const limit = key(endExclusive);
  const out: LocalTime[] = [];
  for (let t = snapStart(start, interval); key(t) < limit; t = nextPeriod(t, interval)) out.push(t);
  return out;
}

/** Sortable key, also the format DuckDB's strftime gives buckets: `YYYY-MM-DDTHH:00:00`. */
export function key(t: LocalTime): string {
  return `${pad(t.y, 4)}-${pad(t.m, 2)}-${pad(t.d, 2)}T${pad(t.h, 2)}:00:00`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** UTC offset (minutes) of a time zone at an instant. */
export function offsetMinutesAt(tz: string, utcMs: number): number {
  const parts = formatterFor(tz).formatToParts(new Date(utcMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((asUtc - Math.floor(utcMs / 1000) * 1000) / 60_000);
}

/** The UTC instant (ms) of a local wall time; in a DST gap, the first valid instant after it. */
export function localToUtcMs(t: LocalTime, tz: string): number {
  const wall = Date.UTC(t.y, t.m - 1, t.d, t.h);
  let guess = wall - offsetMinutesAt(tz, wall) * 60_000;
  guess = wall - offsetMinutesAt(tz, guess) * 60_000;
  return guess;
}

/** ISO-8601 with the zone's offset at that instant: `2024-03-01T00:00:00+05:30`. */
export function isoWithOffset(t: LocalTime, tz: string): string {
  const off = offsetMinutesAt(tz, localToUtcMs(t, tz));
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  const zone = off === 0 ? 'Z' : `${sign}${pad(Math.floor(abs / 60), 2)}:${pad(abs % 60, 2)}`;
  return `${key(t)}${zone}`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

export interface OffsetSegment {
  /** The segment applies to instants before this (ms since epoch); null for the last one. */
  readonly untilMs: number | null;
  readonly offsetMinutes: number;
}

/**
 * The zone's UTC offsets over [fromMs, toMs): constant segments split at each transition (found by
 * sampling daily, then bisecting to the millisecond). Lets SQL turn UTC into local time with arithmetic.
 */
export function offsetSegments(tz: string, fromMs: number, toMs: number): OffsetSegment[] {
  const DAY = 86_400_000;
  const segments: OffsetSegment[] = [];
  let prevMs = fromMs;
  let prevOffset = offsetMinutesAt(tz, fromMs);
  for (let t = fromMs + DAY; ; t += DAY) {
    const at = Math.min(t, toMs);
    const off = offsetMinutesAt(tz, at);
    if (off !== prevOffset) {
      let lo = prevMs;
      let hi = at;
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (offsetMinutesAt(tz, mid) === prevOffset) lo = mid;
        else hi = mid;
      }
      segments.push({ untilMs: hi, offsetMinutes: prevOffset });
      prevOffset = off;
    }
    prevMs = at;
    if (at >= toMs) break;
  }
  segments.push({ untilMs: null, offsetMinutes: prevOffset });
  return segments;
}

/**
 * A zone's offsets over a query's range, looked up without the tz database once built: the metrics endpoint
 * formats hundreds of period timestamps per request (Intl lookups cost ~3 µs each). UTC needs no lookups.
 */
export class ZoneRange {
  private constructor(
    readonly tz: string,
    readonly segments: readonly OffsetSegment[],
  ) {}

  static create(tz: string, fromMs: number, toMs: number): ZoneRange {
    if (tz === 'UTC' || tz === 'Etc/UTC') return new ZoneRange(tz, [{ untilMs: null, offsetMinutes: 0 }]);
    return new ZoneRange(tz, offsetSegments(tz, fromMs, toMs));
  }

  /** Offset (minutes) at a UTC instant within the range. */
  offsetAt(utcMs: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const until = (this.segments[mid] as OffsetSegment).untilMs;
      if (until !== null && utcMs >= until) lo = mid + 1;
      else hi = mid;
    }
    return (this.segments[lo] as OffsetSegment).offsetMinutes;
  }

  /** ISO-8601 of a local period start with its offset, as isoWithOffset() but from the segments. */
  isoWithOffset(t: LocalTime): string {
    const wall = Date.UTC(t.y, t.m - 1, t.d, t.h);
    let utc = wall - this.offsetAt(wall) * 60_000;
    utc = wall - this.offsetAt(utc) * 60_000;
    const off = this.offsetAt(utc);
    if (off === 0) return `${key(t)}Z`;
    const abs = Math.abs(off);
    return `${key(t)}${off < 0 ? '-' : '+'}${pad(Math.floor(abs / 60), 2)}:${pad(abs % 60, 2)}`;
  }
}

/** The local periods a windowed query covers, as UTC bounds and the zone's offsets over them. */
export function periodWindow(q: { start: LocalTime; end: LocalTime; interval: Interval; timezone: string }): {
  periods: LocalTime[];
  fromMs: number;
  toMs: number;
  zone: ZoneRange;
} {
  const periods = periodStarts(q.start, q.end, q.interval);
  const first = periods[0];
  const last = periods[periods.length - 1];
  if (!first || !last) throw new Error('no periods');
  const fromMs = localToUtcMs(first, q.timezone);
  const toMs = localToUtcMs(nextPeriod(last, q.interval), q.timezone);
  return { periods, fromMs, toMs, zone: ZoneRange.create(q.timezone, fromMs, toMs) };
}
