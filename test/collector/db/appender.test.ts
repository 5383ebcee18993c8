import { DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendMoneyOrNull, appendRows, decimalText } from '../../../collector/db/appender.ts';

let instance: DuckDBInstance;
beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
});
afterAll(() => instance.closeSync());

/** The largest magnitude DECIMAL(38,12) holds, in picocents. */
const MAX = 10n ** 38n - 1n;

describe('money into DECIMAL(38,12) through the Appender', () => {
  it('writes the exact decimal text of picocents', () => {
    expect(decimalText(0n)).toBe('0.000000000000');
    expect(decimalText(1n)).toBe('0.000000000001');
    expect(decimalText(-1n)).toBe('-0.000000000001');
    expect(decimalText(24_600_000_000n)).toBe('0.024600000000');
    expect(decimalText(1_000_000_000_000n)).toBe('1.000000000000');
    expect(decimalText(-123_456_789_000_000_000_001n)).toBe('-123456789.000000000001');
    expect(decimalText(MAX)).toBe('99999999999999999999999999.999999999999');
  });

  it('stores every value exactly, nulls as NULL (any magnitude the column holds)', async () => {
    const conn = await instance.connect();
    await conn.run('CREATE TABLE money (v DECIMAL(38,12))');
    const values = fc.sample(
      fc.oneof(
        fc.bigInt({ min: -MAX, max: MAX }),
        fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }),
        fc.constant(null),
      ),
      { numRuns: 2000, seed: 13 },
    );
    await conn.run('BEGIN');
    await appendRows(conn, 'money', (app) => {
      for (const v of values) {
        appendMoneyOrNull(app, v);
        app.endRow();
      }
    });
    await conn.run('COMMIT');
    const rows = (await conn.runAndReadAll('SELECT v::VARCHAR FROM money')).getRows();
    // Read back as text and compared as scaled integers (DuckDB keeps insertion order for a single append).
    const stored = rows.map(([t]) => (t === null ? null : BigInt(String(t).replace('.', ''))));
    expect(stored).toEqual(values);
    expect(values.filter((v) => v === null).length).toBeGreaterThan(0);
    conn.closeSync();
  });
});
