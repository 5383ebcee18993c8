/**
 * What the development endpoint needs to know of a query before running it, as ClickHouse's HTTP handler does: its
 * kind (the first keyword), its output format (a `FORMAT name` clause at its top level), and that it is one statement
 * (the HTTP interface refuses multi-statements; chdb would run them all). An `INSERT … FORMAT name` ends at the
 * format's name: what follows is data. Pure.
 *
 * Hand-written rather than a parser library: only tokens matter (quoted strings with `\` escapes and doubled quotes,
 * heredoc strings, quoted identifiers, comments), and no maintained ClickHouse SQL tokenizer exists for Node.
 */
export interface StatementShape {
  /** The first keyword, upper-cased (SELECT, INSERT, CREATE…); '' when the query is empty. */
  readonly kind: string;
  /** The top-level FORMAT clause's name, if any (for INSERT: the format of the data). */
  readonly format: string | undefined;
  /** Offset where an INSERT's inline data starts (after `FORMAT name`), if any. */
  readonly dataOffset: number | undefined;
  /** A second statement after a `;`: the HTTP interface refuses it. */
  readonly multiStatement: boolean;
  /** Words called as functions (lower-cased): `file(`, `url(`… reach outside the database. */
  readonly calls: ReadonlySet<string>;
  /** A top-level `INTO OUTFILE` (writes a file on the server's machine). */
  readonly intoOutfile: boolean;
  /** The second word, upper-cased (`CREATE TEMPORARY …`). */
  readonly secondWord: string;
}

const WORD = /[A-Za-z_][A-Za-z0-9_]*/y;
/** Names ClickHouse's formats start with: `SELECT format FROM t` names a column, not a format. */
const FORMAT_NAME =
  /^(JSON|NDJSON|TSV|TabSeparated|CSV|CustomSeparated|Values|RowBinary|Native|Parquet|Arrow|ORC|Avro|Protobuf|CapnProto|Pretty|Null|XML|Markdown|Template|Regexp|LineAsString|Raw|MsgPack|Npy|BSON|Vertical|SQLInsert|Prometheus|MySQLDump|Form|Hash|One)/;

/** Index after a quoted token starting at `i` (quote char `q`; `\` escapes; a doubled quote is one quote). */
function skipQuoted(sql: string, i: number, q: string): number {
  let j = i + 1;
  while (j < sql.length) {
    const c = sql[j];
    if (c === '\\') j += 2;
    else if (c === q) {
      if (sql[j + 1] === q) j += 2;
      else return j + 1;
    } else j++;
  }
  return j;
}

/** Index after whitespace and comments from `i`. */
function skipBlank(sql: string, i: number): number {
  let j = i;
  for (;;) {
    const c = sql[j];
    if (c === undefined) return j;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') j++;
    else if ((c === '-' && sql[j + 1] === '-') || c === '#') {
      const end = sql.indexOf('\n', j);
      j = end < 0 ? sql.length : end + 1;
    } else if (c === '/' && sql[j + 1] === '*') {
      const end = sql.indexOf('*/', j + 2);
      j = end < 0 ? sql.length : end + 2;
    } else return j;
  }
}

export function statementShape(sql: string): StatementShape {
  let kind = '';
  let secondWord = '';
  let format: string | undefined;
  let depth = 0;
  let i = skipBlank(sql, 0);
  let previousWord = '';
  let intoOutfile = false;
  const calls = new Set<string>();
  const shape = (dataOffset: number | undefined, multiStatement: boolean): StatementShape => ({
    kind,
    format,
    dataOffset,
    multiStatement,
    calls,
    intoOutfile,
    secondWord,
  });
  while (i < sql.length) {
    const c = sql[i] as string;
    const heredoc = c === '$' ? /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 130)) : null;
    if (c === "'" || c === '"' || c === '`') {
      i = skipQuoted(sql, i, c);
      previousWord = '';
    } else if (heredoc !== null) {
      // A heredoc string, `$$…$$` or `$tag$…$tag$`: nothing inside is SQL.
      const end = sql.indexOf(heredoc[0], i + heredoc[0].length);
      i = end < 0 ? sql.length : end + heredoc[0].length;
      previousWord = '';
    } else if (c === '(') {
      depth++;
      i++;
    } else if (c === ')') {
      depth--;
      i++;
    } else if (c === ';') {
      const rest = skipBlank(sql, i + 1);
      return shape(undefined, rest < sql.length);
    } else if (/[A-Za-z_]/.test(c)) {
      WORD.lastIndex = i;
      const word = (WORD.exec(sql) as RegExpExecArray)[0];
      i += word.length;
      const upper = word.toUpperCase();
      if (kind === '') kind = upper;
      else if (secondWord === '') secondWord = upper;
      if (sql[skipBlank(sql, i)] === '(') calls.add(word.toLowerCase());
      if (depth === 0 && previousWord === 'INTO' && upper === 'OUTFILE') intoOutfile = true;
      if (depth === 0 && previousWord === 'FORMAT' && FORMAT_NAME.test(word)) {
        format = word;
        // An INSERT's data follows its format's name (after one separating blank, as ClickHouse reads it); `Values`
        // data is SQL tuples, read on for a second statement after it.
        if (kind === 'INSERT' && word !== 'Values') return shape(i, false);
      }
      previousWord = upper;
      continue;
    } else {
      const next = skipBlank(sql, i);
      if (next === i) {
        i++;
        previousWord = '';
      } else i = next;
      continue;
    }
    i = skipBlank(sql, i);
  }
  return shape(undefined, false);
}
