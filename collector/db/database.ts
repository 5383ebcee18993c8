/**
 * The DuckDB file: opened once by the collector process (DuckDB allows one writing process per file).
 * One connection is reserved for the writer; reads use a small pool of their own connections.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { BASE_SCHEMA_VERSION, MIGRATIONS, type Migration, migrate, SchemaError } from './migrations.ts';
import { CREATE_SCHEMA } from './schema.ts';
import { col, one, rows } from './sql.ts';
import { transaction } from './transaction.ts';

/** The file's schema version; a new (empty) file gets the base layout first. */
async function schemaVersion(writer: DuckDBConnection, path: string): Promise<number> {
  const tables = await rows(
    writer,
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'`,
    [],
    (r) => String(col(r, 'table_name')),
  );
  if (tables.length === 0) {
    await transaction(writer, async () => {
      for (const ddl of CREATE_SCHEMA) await writer.run(ddl);
      await writer.run(`INSERT INTO costtrace_meta VALUES ('schema_version', '${BASE_SCHEMA_VERSION}')`);
    });
    return BASE_SCHEMA_VERSION;
  }
  if (!tables.includes('costtrace_meta')) {
    throw new SchemaError(
      `${path} is a DuckDB file but not a costtrace database (no costtrace_meta table); not opened.`,
    );
  }
  const version = Number(
    await one(writer, `SELECT value FROM costtrace_meta WHERE key = 'schema_version'`, [], (r) => col(r, 'value')),
  );
  if (!Number.isInteger(version)) throw new SchemaError(`${path} has no readable schema version; not opened.`);
  return version;
}

export interface Database {
  readonly writer: DuckDBConnection;
  /** Runs `fn` on a pooled read connection. */
  read<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const READ_POOL_SIZE = 4;

/**
 * DuckDB's own memory cap (buffer pool, spilling beyond it to `<file>.tmp`). Its default, 80% of RAM, is not a
 * server's. Nothing in the store grows in memory with the data any more (`records` has no primary key:
 * writer/span-dedupe.ts), so the cap is what the buffer pool may cache of the file and what one question may use
 * before spilling. Measured with bench:soak (time-ordered ingest, docs/benchmarks.md, issue 24): the process is
 * ~350 MB without DuckDB's share (Node heaps of the main thread and the decode worker, request bodies) and DuckDB
 * settles at about its cap plus ~100 MB; peaks come on top while questions run. 512MB gave ~870 MB RSS with peaks
 * to 1.3 GB; 256MB keeps the box under 1 GB, and the day indexes keep the large questions small. Threads: DuckDB's
 * default, one per core (reads parallelize; the writer's appends are single-threaded).
 * COSTTRACE_DUCKDB_MEMORY_LIMIT overrides.
 */
export const DEFAULT_DUCKDB_MEMORY_LIMIT = '256MB';

/**
 * WAL size at which DuckDB checkpoints (its default is 16MB). Each checkpoint rewrites the table's last, partly
 * filled row group (122,880 rows) and the dedupe index, so at ingest rates a 16MB WAL (~27k spans) rewrote every
 * row group several times: measured over 90 s of sustained ingest, server CPU per span 99.3 µs at 16MB, 89.6 at
 * 64MB, 87.4 at 256MB (docs/benchmarks.md, issue 13). 64MB: most of the gain, for ~60 MB more RSS than 16MB (128MB cost
 * ~170 MB more, near the 768 MB the ingest bench allows); a crash replays at most 64MB of WAL
 * at the next start.
 */
export const CHECKPOINT_THRESHOLD = '64MB';

export async function openDatabase(
  path: string,
  memoryLimit = DEFAULT_DUCKDB_MEMORY_LIMIT,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<Database> {
  const instance = await DuckDBInstance.create(path, {
    // Offline machines: never try to download extensions (parquet/json/icu are built in).
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    memory_limit: memoryLimit,
    checkpoint_threshold: CHECKPOINT_THRESHOLD,
  });
  const connect = async () => {
    const conn = await instance.connect();
    // Sessions are UTC: naive TIMESTAMP columns hold UTC and are converted explicitly per request.
    await conn.run(`SET TimeZone = 'UTC'`);
    return conn;
  };
  const writer = await connect();
  try {
    await migrate(writer, path, await schemaVersion(writer, path), migrations);
  } catch (err) {
    writer.closeSync();
    instance.closeSync();
    throw err;
  }
  const idle: DuckDBConnection[] = [];
  const all: DuckDBConnection[] = [writer];
  let created = 0;
  const waiters: Array<(c: DuckDBConnection) => void> = [];
  let closed = false;

  const acquire = async (): Promise<DuckDBConnection> => {
    const c = idle.pop();
    if (c) return c;
    if (created < READ_POOL_SIZE) {
      created++;
      const conn = await connect();
      all.push(conn);
      return conn;
    }
    return new Promise((resolve) => waiters.push(resolve));
  };
  const release = (c: DuckDBConnection): void => {
    const next = waiters.shift();
    if (next) next(c);
    else idle.push(c);
  };

  return {
    writer,
    async read(fn) {
      if (closed) throw new Error('database is closed');
      const conn = await acquire();
      try {
        return await fn(conn);
      } finally {
        release(conn);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        // Fold the WAL into the file so the next open starts fast; committed data is safe either way.
        await writer.run('CHECKPOINT');
      } finally {
        for (const c of all) c.closeSync();
        instance.closeSync();
      }
    },
  };
}
