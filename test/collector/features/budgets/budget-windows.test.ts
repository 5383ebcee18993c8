/**
 * The budget windows computed in JavaScript (features/budgets/windows.ts, used by the writer's crossing check and the status
 * endpoint) are DuckDB's `date_trunc` windows in UTC — day, ISO week from Monday, month — at random instants from
 * 1900 to 2200, at the edges of each window, and before the epoch.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { expect, it } from 'vitest';
import {
  type BudgetWindowKind,
  budgetWindow,
  thresholdsReached,
} from '../../../../collector/features/budgets/windows.ts';
import { seededRandom } from '../../../helpers/random.ts';

it('matches DuckDB date_trunc for day, week and month windows', async () => {
  const random = seededRandom(12);
  const lo = Date.UTC(1900, 0, 1) * 1000;
  const hi = Date.UTC(2200, 0, 1) * 1000;
  const instants: bigint[] = [];
  for (let i = 0; i < 3000; i++) instants.push(BigInt(Math.floor(lo + random() * (hi - lo))));
  // Edges: the first and last microsecond of days, weeks and months around the epoch and around now.
  for (const ms of [0, Date.UTC(2026, 10, 30), Date.UTC(2026, 11, 1), Date.UTC(2024, 1, 29), Date.UTC(1969, 11, 29)]) {
    instants.push(BigInt(ms) * 1000n, BigInt(ms) * 1000n - 1n, BigInt(ms) * 1000n + 1n);
  }
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run(`SET TimeZone = 'UTC'`);
  for (const kind of ['day', 'week', 'month'] as BudgetWindowKind[]) {
    const rows = (
      await conn.runAndReadAll(
        `SELECT epoch_us(date_trunc(?, make_timestamp(t))),
           epoch_us(date_trunc(?, make_timestamp(t)) + CASE ? WHEN 'day' THEN INTERVAL 1 DAY
             WHEN 'week' THEN INTERVAL 7 DAY ELSE INTERVAL 1 MONTH END)
         FROM unnest(string_split(?, ',')::BIGINT[]) WITH ORDINALITY AS u(t, i) ORDER BY i`,
        [kind, kind, kind, instants.join(',')],
      )
    ).getRows();
    expect(rows.length).toBe(instants.length);
    instants.forEach((t, i) => {
      const w = budgetWindow(kind, t);
      const [start, end] = rows[i] as [bigint, bigint];
      expect({ kind, t, start: w.startMicros, end: w.endMicros }).toEqual({ kind, t, start, end });
    });
  }
  conn.closeSync();
  instance.closeSync();
});

it('reaches a threshold when spend ≥ amount × threshold, exactly', () => {
  const amount = 1000n * 10n ** 12n; // 10 dollars in picocents
  expect(thresholdsReached(800n * 10n ** 12n - 1n, amount, ['0.8', '1'])).toEqual([]);
  expect(thresholdsReached(800n * 10n ** 12n, amount, ['0.8', '1'])).toEqual(['0.8']);
  expect(thresholdsReached(amount * 2n, amount, ['0.000001', '0.8', '1', '1.5'])).toEqual([
    '0.000001',
    '0.8',
    '1',
    '1.5',
  ]);
  expect(thresholdsReached(999_999n, 1_000_000_000_000n, ['0.000001'])).toEqual([]);
  expect(thresholdsReached(1_000_000n, 1_000_000_000_000n, ['0.000001'])).toEqual(['0.000001']);
});
