/** The typed query helper: SQL parameters as typed values, rows read by column name through row mappers. */
import type { DuckDBConnection, DuckDBListValue, DuckDBResultReader, DuckDBValue } from '@duckdb/node-api';

/**
 * A scalar SQL parameter. Values are bound exactly as @duckdb/node-api 1.5.6 infers them (`typeForValue`):
 * an integral number in int32 range binds as INTEGER, a larger one as BIGINT, a fractional one as DOUBLE; a bigint
 * binds as HUGEINT; a string as VARCHAR. Nothing is converted here, so where a column's type matters the SQL
 * keeps its cast (`?::BIGINT`, `?::DECIMAL(38,0)`, `make_timestamp(?::BIGINT)`).
 */
export type SqlValue = string | number | bigint | boolean | null;
/** A parameter: a scalar, or a DuckDB list (bound to `unnest(?)` / `list_contains(?, …)`). */
export type SqlParam = SqlValue | DuckDBListValue;
export type SqlParams = readonly SqlParam[];

/** One result row keyed by column name (the SELECT's alias); values are the same DuckDBValues `getRows()` gives. */
export type Row = Readonly<Record<string, DuckDBValue>>;
export type RowMapper<T> = (row: Row) => T;

/** Runs a statement whose result is not read. */
export async function run(conn: DuckDBConnection, sql: string, params: SqlParams = []): Promise<void> {
  await conn.run(sql, [...params]);
}

/** Runs a query and reads every row by name. */
export async function rows<T>(conn: DuckDBConnection, sql: string, params: SqlParams, map: RowMapper<T>): Promise<T[]> {
  return mapRows(await read(conn, sql, params), map);
}

/** Runs a query and maps its first row, or returns undefined when there is none. */
export async function one<T>(
  conn: DuckDBConnection,
  sql: string,
  params: SqlParams,
  map: RowMapper<T>,
): Promise<T | undefined> {
  const first = (await read(conn, sql, params)).getRowObjects()[0];
  return first === undefined ? undefined : map(first);
}

/** Runs a query and returns the reader, for callers that read it column-wise or in chunks. */
export async function read(conn: DuckDBConnection, sql: string, params: SqlParams = []): Promise<DuckDBResultReader> {
  return conn.runAndReadAll(sql, [...params]);
}

/** Maps every row of an already-read result by name. */
export function mapRows<T>(reader: DuckDBResultReader, map: RowMapper<T>): T[] {
  return reader.getRowObjects().map(map);
}

/** The named column of a row; throws on a name the query does not select (a typo, not a NULL). */
export function col(row: Row, name: string): DuckDBValue {
  const v = row[name];
  if (v === undefined) throw new Error(`query result has no column "${name}"`);
  return v;
}

/** The named column as a string (`String(v)`), or null when the value is NULL. */
export function textOrNull(row: Row, name: string): string | null {
  const v = col(row, name);
  return v === null ? null : String(v);
}

/** The named column as a JS number (`Number(v)`: counts, ints, doubles). */
export function num(row: Row, name: string): number {
  return Number(col(row, name));
}

/** The named column as a bigint (BIGINT/UBIGINT/HUGEINT arrive as bigint; an INTEGER is widened). */
export function big(row: Row, name: string): bigint {
  const v = col(row, name);
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return BigInt(v);
  throw new Error(`column "${name}" is not an integer: ${String(v)}`);
}
