import { describe, expect, it } from 'vitest';
import { statementShape } from '../../examples/support/clickhouse/statement.ts';

describe('statementShape (what clickhouse:dev reads of a query before running it)', () => {
  it('names the kind and the top-level output format, the last FORMAT clause winning', () => {
    expect(statementShape('  -- hi\n select 1 AS x\nFORMAT JSONEachRow')).toMatchObject({
      kind: 'SELECT',
      format: 'JSONEachRow',
      multiStatement: false,
    });
    expect(statementShape('SELECT format FROM t')).toMatchObject({ kind: 'SELECT', format: undefined });
    expect(statementShape("SELECT formatRow('CSV', 1) FORMAT TabSeparated")).toMatchObject({ format: 'TabSeparated' });
    expect(statementShape('CREATE TABLE t (a UInt8) ENGINE = Memory')).toMatchObject({
      kind: 'CREATE',
      format: undefined,
    });
  });

  it('tells one statement (a trailing ; allowed) from two, whatever strings, identifiers and comments hold', () => {
    expect(statementShape('SELECT 1;').multiStatement).toBe(false);
    expect(statementShape('SELECT 1; -- done\n').multiStatement).toBe(false);
    expect(statementShape('SELECT 1; SELECT 2').multiStatement).toBe(true);
    expect(statementShape('SELECT \'a;b\', `c;d`, "e;f" /* ; */ # ;\n').multiStatement).toBe(false);
    expect(statementShape("SELECT 'it\\'s; still', 'doubled '' ; quote'").multiStatement).toBe(false);
    expect(statementShape("SELECT 'x'; DROP TABLE t").multiStatement).toBe(true);
    expect(statementShape('SELECT $$a;b$$, $tag$c; $$ d$tag$ AS h').multiStatement).toBe(false);
    expect(statementShape('SELECT $$a$$; DROP TABLE t').multiStatement).toBe(true);
  });

  it('ends an INSERT at its format: what follows is data, never read as SQL', () => {
    const sql = 'INSERT INTO t (format, b) FORMAT JSONEachRow\n{"a":"x; DROP TABLE t"}\n';
    const shape = statementShape(sql);
    expect(shape).toMatchObject({ kind: 'INSERT', format: 'JSONEachRow', multiStatement: false });
    expect(sql.slice(shape.dataOffset)).toBe('\n{"a":"x; DROP TABLE t"}\n');
    expect(statementShape('INSERT INTO t SELECT format FROM s').dataOffset).toBeUndefined();
  });

  it('reads on through Values data (SQL tuples) for a second statement, and names calls and INTO OUTFILE', () => {
    expect(statementShape("INSERT INTO t FORMAT Values ('a;b'), ('c')").multiStatement).toBe(false);
    expect(statementShape("INSERT INTO t FORMAT Values ('a'); DROP TABLE t").multiStatement).toBe(true);
    const shape = statementShape("SELECT count() FROM file ('x', 'CSV') INTO OUTFILE 'y'");
    expect([...shape.calls].sort()).toEqual(['count', 'file']);
    expect(shape.intoOutfile).toBe(true);
    expect(statementShape("SELECT 'into outfile' AS into_outfile").intoOutfile).toBe(false);
    expect(statementShape('CREATE TEMPORARY TABLE x (a UInt8)').secondWord).toBe('TEMPORARY');
  });
});
