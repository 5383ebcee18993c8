/**
 * A throwaway PostgreSQL cluster (initdb + pg_ctl in a temp folder, Unix socket only, trust auth) for
 * tests, examples and benchmarks. Runs the server as the `postgres` user when we are root (initdb
 * refuses to run as root). Binaries come from PATH or /usr/lib/postgresql/<version>/bin.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ThrowawayPostgres {
  /** Socket directory: use as `host` with the `pg` client. */
  readonly host: string;
  readonly port: number;
  readonly user: string;
  stop(): void;
}

function pgBin(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) if (existsSync(join(dir, name))) return join(dir, name);
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    for (const v of readdirSync(base).sort().reverse()) {
      const p = join(base, v, 'bin', name);
      if (existsSync(p)) return p;
    }
  }
  throw new Error(`PostgreSQL's ${name} not found (install postgresql)`);
}

export function startPostgres(settings: Record<string, string> = {}): ThrowawayPostgres {
  const dir = mkdtempSync(join(tmpdir(), 'costtrace-pg-'));
  const asRoot = process.getuid?.() === 0;
  const uid = asRoot ? Number(execFileSync('id', ['-u', 'postgres']).toString().trim()) : -1;
  const gid = asRoot ? Number(execFileSync('id', ['-g', 'postgres']).toString().trim()) : -1;
  if (asRoot) {
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  const run = (bin: string, args: string[]) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', pgBin(bin), ...args], { stdio: 'pipe' })
      : execFileSync(pgBin(bin), args, { stdio: 'pipe' });
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses=''",
    '-c fsync=off',
    ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`),
  ].join(' ');
  run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start']);
  return {
    host: dir,
    port,
    user: 'postgres',
    stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
