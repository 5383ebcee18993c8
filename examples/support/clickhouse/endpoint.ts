/**
 * `npm run clickhouse:dev`: ClickHouse's HTTP interface in front of the ClickHouse engine chdb embeds — the subset
 * `@clickhouse/client` uses, so costtrace's ClickHouse store (which speaks HTTP only) is developed and tested against
 * the real engine on machines where no ClickHouse server can be installed (docs/clickhouse.md).
 *
 * Spoken as the server does: the query in the URL (`query=`) followed by the body, or the body alone; `database`,
 * `default_format`, `query_id`, `param_<name>` (bound server-side, typed by their `{name:Type}` placeholder) and any
 * other URL parameter as a setting of that one query; the `X-ClickHouse-User/Key/Database/Format` headers and Basic
 * auth; gzip/deflate/br bodies; answers with `X-ClickHouse-Query-Id`, `-Format`, `-Timezone` and `-Summary`, and
 * errors as the server words them (`Code: N. DB::Exception: … (NAME)`, `X-ClickHouse-Exception-Code`, the server's
 * HTTP status for that code). Refused like the server: a second statement, a write over GET, `session_id`.
 *
 * One chdb session holds the data directory, so queries run one at a time; settings and the database are set for a
 * query and put back after it (`SET x = DEFAULT`), so nothing one request sets reaches another. What this cannot
 * say about a real server (replication, parallel queries, a server's memory limits) is in docs/clickhouse.md.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliDecompressSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import type { Session } from './chdb-types.ts';
import { loadChdb } from './install.ts';
import { type StatementShape, statementShape } from './statement.ts';

export interface ClickHouseDevOptions {
  /** Data directory (kept across restarts). */
  readonly path: string;
  readonly port?: number;
  readonly host?: string;
  /** The one user this endpoint accepts (default `default`, empty password, as a fresh server). */
  readonly user?: string;
  readonly password?: string;
}

export interface ClickHouseDev {
  readonly url: string;
  readonly version: string;
  close(): Promise<void>;
}

/** Request bodies past this are refused (413): inserts are batched far below it. */
export const MAX_BODY_BYTES = 256 << 20;

/** URL parameters that are not settings. */
const NOT_SETTINGS = new Set(['query', 'database', 'default_format', 'query_id', 'user', 'password', 'role']);
/** Settings of the HTTP layer itself (no engine counterpart: chdb refuses them), accepted and ignored. */
const HTTP_ONLY = new Set([
  'wait_end_of_query',
  'send_progress_in_http_headers',
  'http_response_buffer_size',
  'http_headers_progress_interval_ms',
  'http_send_progress_interval_ms',
  'enable_http_compression',
  'http_zlib_compression_level',
  'http_native_compression_disable_checksumming_on_decompress',
  'buffer_size',
  'compress',
  'decompress',
  'session_timeout',
  'session_check',
]);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const READ_KINDS = new Set(['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'DESC', 'EXISTS', 'EXPLAIN', '']);

/** HTTP status ClickHouse answers for an exception code (its `exceptionCodeToHTTPStatus`, for the codes met here). */
const STATUS_OF_CODE = new Map<number, number>([
  ...[516, 192, 193, 194, 195, 164, 497].map((c) => [c, 403] as [number, number]), // authentication, readonly, access
  ...[60, 81, 46, 47, 50, 56, 115].map((c) => [c, 404] as [number, number]), // unknown table, database, setting…
  ...[62, 6, 26, 27, 32, 38, 41, 53, 69, 70, 72, 117, 130, 354, 456, 457].map((c) => [c, 400] as [number, number]),
  [48, 501], // NOT_IMPLEMENTED
]);
const httpStatusOf = (code: number): number => STATUS_OF_CODE.get(code) ?? 500;

class ClickHouseException extends Error {
  constructor(
    readonly code: number,
    readonly type: string,
    message: string,
    readonly status = httpStatusOf(code),
  ) {
    super(`Code: ${code}. DB::Exception: ${message}. (${type})`);
  }
}

function exceptionOf(err: unknown): ClickHouseException {
  if (err instanceof ClickHouseException) return err;
  const text = err instanceof Error ? err.message : String(err);
  const m = /Code: (\d+)\. DB::Exception: ([\s\S]*?)\.? \(([A-Z0-9_]+)\)\s*$/.exec(text.trim());
  if (m) return new ClickHouseException(Number(m[1]), m[3] as string, m[2] as string);
  return new ClickHouseException(1001, 'STD_EXCEPTION', text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new ClickHouseException(
        307,
        'TOO_MANY_BYTES',
        `request body over ${MAX_BODY_BYTES} bytes (clickhouse:dev limit)`,
        413,
      );
    }
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  const encoding = String(req.headers['content-encoding'] ?? '').toLowerCase();
  try {
    if (encoding === '' || encoding === 'identity') return body;
    if (encoding === 'gzip') return gunzipSync(body);
    if (encoding === 'deflate') return inflateSync(body);
    if (encoding === 'br') return brotliDecompressSync(body);
  } catch (err) {
    throw new ClickHouseException(354, 'CANNOT_DECOMPRESS', `cannot decompress the ${encoding} body: ${String(err)}`);
  }
  throw new ClickHouseException(
    1001,
    'UNKNOWN_COMPRESSION_METHOD',
    `unsupported Content-Encoding ${encoding} (clickhouse:dev reads gzip, deflate, br)`,
    400,
  );
}

function credentials(req: IncomingMessage, url: URL): { user: string; password: string } {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return {
      user: decoded.slice(0, colon < 0 ? undefined : colon),
      password: colon < 0 ? '' : decoded.slice(colon + 1),
    };
  }
  const header = (name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  return {
    user: header('x-clickhouse-user') ?? url.searchParams.get('user') ?? 'default',
    password: header('x-clickhouse-key') ?? url.searchParams.get('password') ?? '',
  };
}

interface Planned {
  readonly sql: string;
  readonly params: Record<string, string>;
  readonly settings: ReadonlyArray<[string, string]>;
  readonly database: string;
  readonly format: string;
  readonly queryId: string;
  readonly compress: boolean;
  /** SET / USE as the statement: over HTTP without a session they change nothing after the request — answered, not run. */
  readonly sessionStatement: boolean;
}

/** Names of table functions and engines that reach outside the database (files, URLs, other servers, programs). */
const OUTSIDE =
  /^(file|filecluster|url|urlcluster|s3|s3cluster|gcs|hdfs|hdfscluster|azureblobstorage|azureblobstoragecluster|remote|remotesecure|cluster|clusterallreplicas|mysql|postgresql|mongodb|redis|sqlite|jdbc|odbc|executable|executablepool|deltalake|iceberg|hudi|input_file|kafka|rabbitmq|nats)$/;

/** What a real server refuses or confines (its user-files folder, `readonly`): refused here outright. */
function refuseOutside(shape: StatementShape): void {
  const reaching = [...shape.calls].find((c) => OUTSIDE.test(c));
  if (reaching !== undefined) {
    throw new ClickHouseException(
      497,
      'ACCESS_DENIED',
      `${reaching}(…) reaches outside the database: not allowed by clickhouse:dev`,
    );
  }
  if (shape.intoOutfile) {
    throw new ClickHouseException(497, 'ACCESS_DENIED', 'INTO OUTFILE writes a file: not allowed by clickhouse:dev');
  }
  if (shape.kind === 'CREATE' && shape.secondWord === 'TEMPORARY') {
    throw new ClickHouseException(
      1001,
      'SESSION_NOT_FOUND',
      'temporary tables need a session (not supported by clickhouse:dev)',
      400,
    );
  }
}

const QUERY_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

function queryIdOf(search: URLSearchParams): string {
  const id = search.get('query_id');
  if (id === null) return randomUUID();
  if (!QUERY_ID.test(id)) {
    throw new ClickHouseException(36, 'BAD_ARGUMENTS', 'query_id must be 1–128 letters, digits, _ . : or -', 400);
  }
  return id;
}

function plan(req: IncomingMessage, url: URL, body: Buffer): Planned {
  const search = url.searchParams;
  if (search.has('session_id')) {
    throw new ClickHouseException(
      1001,
      'SESSION_NOT_FOUND',
      'sessions (session_id) are not supported by clickhouse:dev',
      400,
    );
  }
  const urlQuery = search.get('query');
  const text = body.toString('utf8');
  const sql = urlQuery === null ? text : text.length > 0 ? `${urlQuery}\n${text}` : urlQuery;
  if (req.method === 'GET' && text.length > 0) {
    throw new ClickHouseException(164, 'READONLY', 'a GET request carries its query in the URL, not a body');
  }
  const shape = statementShape(sql);
  if (shape.multiStatement) throw new ClickHouseException(62, 'SYNTAX_ERROR', 'Multi-statements are not allowed');
  refuseOutside(shape);
  if (req.method === 'GET' && !READ_KINDS.has(shape.kind)) {
    throw new ClickHouseException(164, 'READONLY', 'Cannot execute query in readonly mode (a GET request)');
  }
  const params: Record<string, string> = {};
  const settings: Array<[string, string]> = [];
  for (const [k, v] of search) {
    if (k.startsWith('param_')) params[k.slice(6)] = v;
    else if (NOT_SETTINGS.has(k) || HTTP_ONLY.has(k)) continue;
    else if (!NAME.test(k)) throw new ClickHouseException(115, 'UNKNOWN_SETTING', `Unknown setting '${k}'`);
    else settings.push([k, v]);
  }
  const header = (name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const database = search.get('database') ?? header('x-clickhouse-database') ?? 'default';
  if (!NAME.test(database))
    throw new ClickHouseException(81, 'UNKNOWN_DATABASE', `Database ${database} does not exist`);
  return {
    sql,
    params,
    settings,
    database,
    format: shape.format ?? search.get('default_format') ?? header('x-clickhouse-format') ?? 'TabSeparated',
    queryId: queryIdOf(search),
    sessionStatement: shape.kind === 'SET' || shape.kind === 'USE',
    compress:
      search.get('enable_http_compression') === '1' &&
      String(req.headers['accept-encoding'] ?? '')
        .split(',')
        .some((e) => e.trim().startsWith('gzip')),
  };
}

const literal = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

const CONTENT_TYPES: Record<string, string> = {
  JSON: 'application/json; charset=UTF-8',
  JSONCompact: 'application/json; charset=UTF-8',
  JSONEachRow: 'application/x-ndjson; charset=UTF-8',
  JSONCompactEachRow: 'application/x-ndjson; charset=UTF-8',
  CSV: 'text/csv; charset=UTF-8; header=absent',
  CSVWithNames: 'text/csv; charset=UTF-8; header=present',
};

export async function startClickHouseDev(options: ClickHouseDevOptions): Promise<ClickHouseDev> {
  const chdb = await loadChdb();
  const session: Session = new chdb.Session(options.path);
  const query = (sql: string, format: string, params?: Record<string, string>) =>
    chdb.native.QueryAsyncConnection(session.connection, sql, format, params);
  const engineVersion = Buffer.from((await query('SELECT version()', 'TSVRaw')).bytes)
    .toString('utf8')
    .trim();
  const user = options.user ?? 'default';
  const password = options.password ?? '';
  let chain: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  };

  const run = (p: Planned) =>
    exclusive(async () => {
      const prefix = [...p.settings.map(([k, v]) => `SET ${k} = ${literal(v)}`), `USE ${p.database}`, ''].join('; ');
      const started = process.hrtime.bigint();
      try {
        const sql = `${prefix}${p.sql}`;
        const result = await query(sql, p.format, Object.keys(p.params).length > 0 ? p.params : undefined);
        return { result, elapsedNs: process.hrtime.bigint() - started };
      } finally {
        // Put back what this query set, so no setting (a dedup token!) or database reaches the next request.
        const reset = [...p.settings.map(([k]) => `SET ${k} = DEFAULT`), 'USE default'].join('; ');
        await query(reset, 'TSV').catch((err: unknown) => {
          process.stderr.write(`clickhouse:dev: could not reset settings after a query: ${String(err)}\n`);
        });
      }
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const base = { 'X-ClickHouse-Server-Display-Name': 'clickhouse-dev', 'X-ClickHouse-Timezone': 'UTC' };
    // Echoed in a header only once checked (a newline in it would make the answer itself fail).
    let queryId: string = randomUUID();
    try {
      const url = new URL(req.url ?? '/', 'http://clickhouse.dev');
      if (
        url.pathname === '/ping' ||
        (url.pathname === '/' && req.method === 'GET' && !url.searchParams.has('query'))
      ) {
        await readBody(req);
        res.writeHead(200, { ...base, 'Content-Type': 'text/html; charset=UTF-8' }).end('Ok.\n');
        return;
      }
      if (url.pathname !== '/') {
        throw new ClickHouseException(
          1001,
          'NO_HANDLER',
          `There is no handle ${url.pathname} (clickhouse:dev serves / and /ping)`,
          404,
        );
      }
      if (req.method !== 'GET' && req.method !== 'POST') {
        throw new ClickHouseException(1001, 'BAD_REQUEST', `method ${req.method} is not allowed`, 405);
      }
      const who = credentials(req, url);
      if (who.user !== user || who.password !== password) {
        throw new ClickHouseException(
          516,
          'AUTHENTICATION_FAILED',
          `${who.user}: Authentication failed: password is incorrect, or there is no user with such name`,
        );
      }
      const body = await readBody(req);
      const p = plan(req, url, body);
      queryId = p.queryId;
      if (p.sessionStatement) {
        // What a server without a session does with it: nothing that outlives the request.
        res.writeHead(200, { ...base, 'X-ClickHouse-Query-Id': queryId, 'X-ClickHouse-Format': p.format }).end();
        return;
      }
      const { result, elapsedNs } = await run(p);
      const bytes = Buffer.from(result.bytes);
      const summary = {
        read_rows: String(result.rowsRead),
        read_bytes: String(result.bytesRead),
        written_rows: '0',
        written_bytes: '0',
        total_rows_to_read: String(result.rowsRead),
        result_rows: '0',
        result_bytes: String(bytes.length),
        elapsed_ns: String(elapsedNs),
      };
      const headers: Record<string, string> = {
        ...base,
        'X-ClickHouse-Query-Id': queryId,
        'X-ClickHouse-Format': p.format,
        'X-ClickHouse-Summary': JSON.stringify(summary),
        'Content-Type': CONTENT_TYPES[p.format] ?? 'text/plain; charset=UTF-8',
      };
      if (p.compress) {
        res.writeHead(200, { ...headers, 'Content-Encoding': 'gzip' }).end(gzipSync(bytes));
      } else res.writeHead(200, headers).end(bytes);
    } catch (err) {
      const e = exceptionOf(err);
      if (!res.headersSent) {
        res
          .writeHead(e.status, {
            ...base,
            'X-ClickHouse-Query-Id': queryId,
            'X-ClickHouse-Exception-Code': String(e.code),
            'Content-Type': 'text/plain; charset=UTF-8',
          })
          .end(`${e.message} (version ${engineVersion})\n`);
      } else res.destroy();
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8123, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    version: engineVersion,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await chain;
      session.close();
    },
  };
}
