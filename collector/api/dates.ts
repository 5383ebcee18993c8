/** Date parameters of the read API: `YYYY-MM-DD`, a real calendar date in the storable range. */

import { InputError } from '../http/errors.ts';
import { parseLocalDate } from '../metrics/params.ts';

/** Midnight UTC of the date, in µs since epoch; 422 with the location when invalid. */
export function parseDateParam(value: string, name: string, where: 'query' | 'body' = 'query'): bigint {
  const issues: Array<{ loc: Array<string | number>; msg: string; type: string }> = [];
  const date = parseLocalDate(value, name, issues, where);
  if (!date) throw new InputError(issues);
  return BigInt(Date.UTC(date.y, date.m - 1, date.d)) * 1000n;
}
