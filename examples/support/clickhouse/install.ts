/**
 * The ClickHouse engine for development and tests, fetched on demand: `chdb` (the real ClickHouse engine, embedded;
 * its `@chdb/lib-linux-x64-gnu` ships `libchdb.so` inside the registry package, ~550 MB) is installed into a tools
 * folder of its own the first time `npm run clickhouse:dev` or the tests need it, so `npm install` of the repository
 * does not grow by it. The folder is `node_modules/.costtrace-tools/clickhouse` (gone with node_modules; override
 * with COSTTRACE_TOOLS_DIR). Concurrent callers share one install: the first takes a lock folder, the others wait.
 *
 * `node --import tsx examples/support/clickhouse/install.ts` installs it and prints the folder.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Chdb, ChdbNative } from './chdb-types.ts';

/** Pinned: the versions measured on Node 20 here (docs/clickhouse.md). */
export const CHDB_VERSION = '3.4.0';
export const CHDB_LIB_VERSION = '26.7.3-stable.1';

const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const LOCK_STALE_MS = 10 * 60_000;

export function toolsDir(): string {
  return resolve(process.env.COSTTRACE_TOOLS_DIR ?? join(REPO, 'node_modules', '.costtrace-tools', 'clickhouse'));
}

function installed(dir: string): boolean {
  try {
    const req = createRequire(join(dir, 'package.json'));
    const pkg = req('chdb/package.json') as { version: string };
    return pkg.version === CHDB_VERSION && existsSync(req.resolve('chdb'));
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Installs chdb into the tools folder if it is not there yet; returns the folder. */
export async function ensureChdb(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<string> {
  const dir = toolsDir();
  if (installed(dir)) return dir;
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, '.installing');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Someone else installs: wait for them (or take over a lock left by a killed install).
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held !== undefined && Date.now() - held.mtimeMs > LOCK_STALE_MS) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      await sleep(500);
      if (installed(dir)) return dir;
    }
  }
  try {
    if (installed(dir)) return dir;
    log(`== installing chdb ${CHDB_VERSION} (the ClickHouse engine, ~550 MB) into ${dir}`);
    writeFileSync(
      join(dir, 'package.json'),
      `${JSON.stringify(
        {
          name: 'costtrace-clickhouse-tools',
          private: true,
          description: 'The ClickHouse engine for costtrace development and tests (examples/support/clickhouse)',
          dependencies: { chdb: CHDB_VERSION, '@chdb/lib-linux-x64-gnu': CHDB_LIB_VERSION },
        },
        null,
        2,
      )}\n`,
    );
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    execFileSync(npm, ['install', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (!installed(dir)) throw new Error(`chdb ${CHDB_VERSION} is still missing from ${dir} after npm install`);
    return dir;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** chdb, loaded from the tools folder (the collector package never imports it), with its native addon. */
export async function loadChdb(): Promise<Chdb> {
  const dir = await ensureChdb();
  const req = createRequire(join(dir, 'package.json'));
  const entry = req.resolve('chdb');
  const { Session } = req(entry) as Pick<Chdb, 'Session'>;
  // Not in chdb's exports map: loaded by path, as chdb's own index does (chdb-types.ts says why).
  const loader = req(join(dirname(entry), 'dist', 'loader.js')) as { loadNative(): ChdbNative };
  return { Session, native: loader.loadNative() };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${await ensureChdb()}\n`);
}
