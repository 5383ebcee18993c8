/**
 * Comparing a `GET /v1/cost-drivers` answer with the exact one: equal but for what the sketch may change — each
 * per-trace quantile within the stated relative error, outliers the exact ones (plus, after them, traces within
 * the error below the p99).
 */
import { expect } from 'vitest';

interface Group {
  key: string | null;
  per_trace: { p50: number; p90: number; p99: number };
  outliers: Array<{ trace_id: string; cost: number }>;
  [field: string]: unknown;
}
export interface DriversBody {
  quantiles?: string;
  quantile_relative_error?: number;
  groups: Group[];
  [field: string]: unknown;
}

/** Money in answers has 12 decimals (cents): rounding adds at most this. */
const ROUNDING = 1e-12;

export function expectDriversLike(got: DriversBody, exact: DriversBody, label = ''): void {
  if (got.quantiles !== 'sketch') {
    expect(got, label).toMatchObject(exact as object);
    return;
  }
  const bound = got.quantile_relative_error as number;
  expect(bound, label).toBe(0.01);
  const strip = (b: DriversBody) => ({
    ...b,
    quantiles: undefined,
    quantile_relative_error: undefined,
    groups: b.groups.map((g) => ({ ...g, per_trace: undefined, outliers: undefined })),
  });
  expect(strip(got), label).toMatchObject(strip(exact));
  got.groups.forEach((g, i) => {
    const want = exact.groups[i] as Group;
    for (const q of ['p50', 'p90', 'p99'] as const) {
      const error = Math.abs(g.per_trace[q] - want.per_trace[q]);
      expect(error, `${label} ${g.key} ${q}: ${g.per_trace[q]} vs ${want.per_trace[q]}`).toBeLessThanOrEqual(
        Math.abs(want.per_trace[q]) * bound + ROUNDING,
      );
    }
    expect(
      g.outliers.filter((o) => o.cost >= want.per_trace.p99),
      `${label} ${g.key} outliers`,
    ).toEqual(want.outliers);
  });
}
