/**
 * A consistent copy of the database while ingest goes on (docs/contract.md §10, §12 v3). It runs on a read connection in
 * one transaction: DuckDB's MVCC snapshot holds exactly the requests committed before it began (each request
 * commits whole), and the writer is never blocked.
 *
 * Where it may write (§12 v3):
 * - never over one of the live database's own files — the file, its `.wal`, its `.tmp` spill folder and their
 *   `.partial`s — compared by folder identity (device + inode of the resolved folder, so symlinks and bind mounts
 *   do not hide it) and name (case-insensitively: a case-insensitive file system must not hide it either). A copy
 *   named `<db>.wal` would otherwise become the live database's log and lose acknowledged writes;
 * - never over an existing file, and it never deletes a file it did not create: the copy is written under a
 *   temporary name of its own (random, checked absent first) and published with `link()`, which refuses an
 *   existing target atomically — concurrent snapshots to one path leave one whole copy, the others answer 409;
 * - with `COSTTRACE_SNAPSHOT_DIR` set, only inside that folder (resolved, symlinks followed: no `..` or symlink
 *   escape).
 * Refusals carry messages without paths, engine text or process ids (they reach HTTP bodies).
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, linkSync, lstatSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { SnapshotRefused } from '../core/errors.ts';
import { col, one } from './sql.ts';
import { transaction } from './transaction.ts';

/** Suffixes of the files DuckDB keeps beside a database (write-ahead log, spill folder) and of our temporaries. */
const LIVE_SUFFIXES = ['', '.wal', '.tmp', '.partial', '.wal.partial', '.partial.wal', '.tmp.partial'] as const;

const EXISTS = 'the path already exists; snapshots never overwrite a file';

export interface SnapshotPlace {
  /** The requested path made absolute (what the answer names). */
  readonly path: string;
  /** The same file with its folder resolved (symlinks followed): where the copy is written. */
  readonly realPath: string;
}

/**
 * Resolves a requested snapshot path: relative paths are taken from `confineDir` when set (else the working
 * folder); the folder must exist and be writable, and lie inside `confineDir`; the file must not exist.
 */
export function resolveSnapshotPlace(requested: string, confineDir?: string): SnapshotPlace {
  if (requested.includes('\0')) throw new SnapshotRefused('invalid', 'the path contains a NUL character');
  const path = isAbsolute(requested) ? resolve(requested) : resolve(confineDir ?? '.', requested);
  const name = basename(path);
  if (name === '' || name === '.' || name === '..') throw new SnapshotRefused('invalid', 'the path names no file');
  let folder: string;
  try {
    folder = realpathSync(dirname(path));
  } catch {
    throw new SnapshotRefused('invalid', 'the folder of the path does not exist');
  }
  if (!statSync(folder).isDirectory()) throw new SnapshotRefused('invalid', 'the folder of the path is not a folder');
  if (confineDir !== undefined) {
    const root = realpathSync(confineDir);
    const inside = relative(root, folder);
    if (inside.startsWith('..') || isAbsolute(inside)) {
      throw new SnapshotRefused('invalid', 'the path is outside the snapshot folder (COSTTRACE_SNAPSHOT_DIR)');
    }
  }
  const realPath = join(folder, name);
  if (present(realPath)) throw new SnapshotRefused('conflict', EXISTS);
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new SnapshotRefused('invalid', 'the server cannot write to the folder of the path');
  }
  return { path, realPath };
}

/** Writes the copy at `path` (a file in an existing folder, as `resolveSnapshotPlace` answers). */
export async function writeSnapshot(conn: DuckDBConnection, path: string): Promise<{ bytes: number }> {
  const target = join(realpathSync(dirname(resolve(path))), basename(path));
  const live = await liveDatabasePath(conn);
  const temp = `${target}.${randomBytes(8).toString('hex')}.partial`;
  for (const file of [target, temp, `${temp}.wal`]) {
    if (isLiveFile(file, live)) {
      throw new SnapshotRefused(
        'invalid',
        "the path is one of the live database's own files (the database, its .wal, its .tmp, or a .partial of them)",
      );
    }
  }
  if (present(target)) throw new SnapshotRefused('conflict', EXISTS);
  if (present(temp) || present(`${temp}.wal`)) throw new Error('snapshot temporary name taken; try again');
  const created = [temp, `${temp}.wal`];
  const removeCreated = () => {
    for (const f of created) rmSync(f, { force: true });
  };
  const alias = `snapshot_${randomBytes(8).toString('hex')}`;
  const source = String(await one(conn, 'SELECT current_database() AS name', [], (r) => col(r, 'name')));
  try {
    await conn.run(`ATTACH '${temp.replace(/'/g, "''")}' AS ${alias}`);
  } catch (err) {
    removeCreated();
    throw err;
  }
  try {
    await transaction(conn, () => conn.run(`COPY FROM DATABASE "${source.replace(/"/g, '""')}" TO ${alias}`));
    await conn.run(`DETACH ${alias}`);
  } catch (err) {
    await conn.run(`DETACH ${alias}`).catch(() => undefined);
    removeCreated();
    throw err;
  }
  try {
    publish(temp, target);
  } finally {
    removeCreated();
  }
  return { bytes: statSync(target).size };
}

/** Puts the finished copy at `target` unless something is there: `link` refuses an existing target atomically. */
function publish(temp: string, target: string): void {
  try {
    linkSync(temp, target);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new SnapshotRefused('conflict', EXISTS);
    }
    // A file system without hard links: check and rename in one synchronous step (no other request of this
    // process runs in between).
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV' && code !== 'EMLINK') {
      throw err;
    }
  }
  if (present(target)) throw new SnapshotRefused('conflict', EXISTS);
  renameSync(temp, target);
}

async function liveDatabasePath(conn: DuckDBConnection): Promise<string> {
  const path = await one(
    conn,
    'SELECT path FROM duckdb_databases() WHERE database_name = current_database()',
    [],
    (r) => col(r, 'path'),
  );
  if (typeof path !== 'string' || path === '') throw new Error('the live database has no file');
  return resolve(path);
}

/** Whether `file` is (or would be) one of the live database's own files: same folder (by identity), same name. */
function isLiveFile(file: string, live: string): boolean {
  const name = basename(file).toLowerCase();
  const liveName = basename(live).toLowerCase();
  if (!LIVE_SUFFIXES.some((suffix) => name === `${liveName}${suffix}`)) return false;
  const a = statSync(dirname(file));
  const b = statSync(dirname(live));
  return a.dev === b.dev && a.ino === b.ino;
}

/** Whether anything (a file, a folder, a dangling symlink) is at `path`. */
function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
