/** Date parameters of the read API: `YYYY-MM-DD`, a real calendar date. */
import { InputError } from '../http/errors.ts';

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Midnight UTC of the date, in µs since epoch; 422 with the location when invalid. */
export function parseDateParam(value: string, name: string): bigint {
  const m = DATE_RE.exec(value);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value) {
    throw new InputError([
      { loc: ['query', name], msg: `"${value}" is not a valid date (YYYY-MM-DD)`, type: 'value_error' },
    ]);
  }
  return BigInt(ms) * 1000n;
}

export const DAY_MICROS = 86_400_000_000n;
