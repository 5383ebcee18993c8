/**
 * `clickhouse:dev` in a process of its own, for tests and benches: started on a free port over a data folder, with
 * `stop()` (SIGTERM: closes cleanly) and `kill()` (SIGKILL, as a crash). Installs the engine first if needed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureChdb } from './install.ts';

export interface ClickHouseDevProcess {
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

export async function startClickHouseDevProcess(path: string, extraArgs: string[] = []): Promise<ClickHouseDevProcess> {
  await ensureChdb();
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--port', '0', '--path', path, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /clickhouse listening on (\S+)\n/.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`clickhouse:dev exited (${code}) before listening: ${err}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
