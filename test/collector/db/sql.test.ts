/** The typed query helper (collector/db/sql.ts): parameters bind as DuckDB infers them, rows read by name. */
import { type DuckDBConnection, DuckDBInstance, listValue } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { big, col, num, one, read, rows, run, textOrNull } from '../../../collector/db/sql.ts';

let instance: DuckDBInstance;
let conn: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
});

afterAll(() => {
  conn.closeSync();
  instance.closeSync();
});

describe('parameters', () => {
  it.each([
    ['an int32 number', 7, 'INTEGER'],
    ['a number beyond int32', 2 ** 40, 'BIGINT'],
    ['a fractional number', 1.5, 'DOUBLE'],
    ['a bigint', 5n, 'HUGEINT'],
    ['a string', 'x', 'VARCHAR'],
    ['a boolean', true, 'BOOLEAN'],
  ] as const)('binds %s as %s, unconverted', async (_, value, type) => {
    expect(await one(conn, 'SELECT typeof(?) AS t', [value], (r) => col(r, 't'))).toBe(type);
  });

  it('keeps BIGINT, UBIGINT and DECIMAL exact through the SQL casts', async () => {
    const r = await one(
      conn,
      'SELECT ?::BIGINT AS i, ?::UBIGINT AS u, (?::DECIMAL(38,12))::VARCHAR AS d',
      [-(2n ** 62n), 2n ** 64n - 1n, '123456789012345678901234.000000000001'],
      (row) => ({ i: big(row, 'i'), u: big(row, 'u'), d: col(row, 'd') }),
    );
    expect(r).toEqual({ i: -(2n ** 62n), u: 2n ** 64n - 1n, d: '123456789012345678901234.000000000001' });
  });

  it('binds a list for unnest', async () => {
    expect(
      await rows(conn, 'SELECT unnest(?::INTEGER[]) AS k ORDER BY k', [listValue([3, 1, 2])], (r) => num(r, 'k')),
    ).toEqual([1, 2, 3]);
  });
});

describe('rows', () => {
  it('runs statements and reads rows by column name, in order', async () => {
    await run(conn, 'CREATE TABLE t (id VARCHAR, n BIGINT, note VARCHAR)');
    await run(conn, 'INSERT INTO t VALUES (?, ?::BIGINT, ?), (?, ?::BIGINT, ?)', ['b', 2, null, 'a', 1, 'first']);
    const got = await rows(conn, 'SELECT note, n, id FROM t ORDER BY id', [], (r) => ({
      id: String(col(r, 'id')),
      n: big(r, 'n'),
      note: textOrNull(r, 'note'),
    }));
    expect(got).toEqual([
      { id: 'a', n: 1n, note: 'first' },
      { id: 'b', n: 2n, note: null },
    ]);
  });

  it('one: the first row, or undefined when there is none', async () => {
    expect(await one(conn, 'SELECT id FROM t ORDER BY id DESC', [], (r) => col(r, 'id'))).toBe('b');
    expect(await one(conn, "SELECT id FROM t WHERE id = 'zz'", [], (r) => col(r, 'id'))).toBeUndefined();
  });

  it('read: the reader itself', async () => {
    expect((await read(conn, 'SELECT count(*) AS n FROM t')).getRowObjects()).toEqual([{ n: 2n }]);
  });

  it('throws on a column the query does not select, but not on NULL', async () => {
    await expect(one(conn, 'SELECT 1 AS a', [], (r) => col(r, 'b'))).rejects.toThrow('no column "b"');
    expect(await one(conn, 'SELECT NULL AS a', [], (r) => col(r, 'a'))).toBeNull();
  });

  it.each([
    ['INTEGER', '7::INTEGER', 7n],
    ['BIGINT', '9007199254740993::BIGINT', 9007199254740993n],
    ['HUGEINT', '(2::HUGEINT ** 100)::HUGEINT', 2n ** 100n],
  ])('big reads a %s exactly', async (_, expr, want) => {
    expect(await one(conn, `SELECT ${expr} AS v`, [], (r) => big(r, 'v'))).toBe(want);
  });

  it('big refuses a non-integer value', async () => {
    await expect(one(conn, "SELECT DATE '2024-01-01' AS v", [], (r) => big(r, 'v'))).rejects.toThrow('not an integer');
  });
});
