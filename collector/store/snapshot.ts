/**
 * A consistent copy of the database while ingest goes on (CONTRACT.md §10). It runs on a read connection in one
 * transaction: DuckDB's MVCC snapshot holds exactly the requests committed before it began (each request
 * commits whole), and the writer is never blocked. The copy is written beside the target as `.partial` and
 * renamed into place only when complete, so a failure leaves nothing half-written at the path.
 */
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import { transaction } from './transaction.ts';

export async function writeSnapshot(conn: DuckDBConnection, path: string): Promise<{ bytes: number }> {
  const partial = `${path}.partial`;
  const alias = `snapshot_${process.pid}_${Date.now()}`;
  const cleanup = () => {
    for (const f of [partial, `${partial}.wal`]) rmSync(f, { force: true });
  };
  cleanup();
  const source = String((await conn.runAndReadAll('SELECT current_database()')).getRows()[0]?.[0]);
  await conn.run(`ATTACH '${partial.replace(/'/g, "''")}' AS ${alias}`);
  try {
    await transaction(conn, () => conn.run(`COPY FROM DATABASE "${source.replace(/"/g, '""')}" TO ${alias}`));
  } catch (err) {
    await conn.run(`DETACH ${alias}`).catch(() => undefined);
    cleanup();
    throw err;
  }
  await conn.run(`DETACH ${alias}`);
  if (existsSync(path)) {
    cleanup();
    throw new Error(`${path} appeared while the snapshot was written`);
  }
  renameSync(partial, path);
  rmSync(`${partial}.wal`, { force: true });
  return { bytes: statSync(path).size };
}
