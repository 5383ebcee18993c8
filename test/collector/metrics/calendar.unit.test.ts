import { describe, expect, it } from 'vitest';
import {
  isoWithOffset,
  localToUtcMs,
  nextPeriod,
  offsetSegments,
  periodStarts,
  snapStart,
  ZoneRange,
} from '../../../collector/metrics/calendar.ts';

const t = (y: number, m: number, d: number, h = 0) => ({ y, m, d, h });

describe('calendar', () => {
  it.each([
    ['week', t(2024, 1, 10), t(2024, 1, 8)],
    ['week', t(2024, 1, 8), t(2024, 1, 8)],
    ['week', t(2024, 1, 7), t(2024, 1, 1)],
    ['month', t(2024, 2, 29), t(2024, 2, 1)],
    ['year', t(2024, 7, 4), t(2024, 1, 1)],
    ['day', t(2024, 7, 4, 13), t(2024, 7, 4)],
  ] as const)('snaps %s start %j back to %j', (interval, from, to) => {
    expect(snapStart(from, interval)).toEqual(to);
  });

  it('steps periods across month and year ends', () => {
    expect(nextPeriod(t(2024, 12, 1), 'month')).toEqual(t(2025, 1, 1));
    expect(nextPeriod(t(2024, 2, 28), 'day')).toEqual(t(2024, 2, 29));
    expect(nextPeriod(t(2024, 12, 31, 23), 'hour')).toEqual(t(2025, 1, 1));
    expect(periodStarts(t(2024, 1, 1), t(2024, 1, 2), 'hour')).toHaveLength(48);
  });

  it.each(['UTC', 'Asia/Kolkata', 'Asia/Kathmandu', 'America/New_York', 'Australia/Lord_Howe', 'Pacific/Chatham'])(
    'offset segments give the same period timestamps as the tz database in %s',
    (tz) => {
      const periods = periodStarts(t(2024, 1, 1), t(2024, 12, 31), 'day');
      const zone = ZoneRange.create(tz, localToUtcMs(t(2024, 1, 1), tz), localToUtcMs(t(2025, 1, 1), tz));
      expect(periods.map((p) => zone.isoWithOffset(p))).toEqual(periods.map((p) => isoWithOffset(p, tz)));
    },
  );

  it('finds DST transitions exactly', () => {
    // Europe/Berlin 2024: +01:00 → +02:00 at 2024-03-31T01:00Z, back at 2024-10-27T01:00Z
    const segments = offsetSegments('Europe/Berlin', Date.UTC(2024, 0, 1), Date.UTC(2025, 0, 1));
    expect(segments).toEqual([
      { untilMs: Date.UTC(2024, 2, 31, 1), offsetMinutes: 60 },
      { untilMs: Date.UTC(2024, 9, 27, 1), offsetMinutes: 120 },
      { untilMs: null, offsetMinutes: 60 },
    ]);
    expect(isoWithOffset(t(2024, 7, 1), 'Europe/Berlin')).toBe('2024-07-01T00:00:00+02:00');
  });
});
