import { type ChildProcess, spawn } from 'node:child_process';
import { COSTTRACE_CLI } from './cli.ts';

export interface ChildCollector {
  readonly child: ChildProcess;
  readonly url: string;
  stderr(): string;
  exited: Promise<number | null>;
}

/** Starts `costtrace serve` as a separate process and waits for its "listening" line. */
export async function spawnCollector(args: string[], env: Record<string, string> = {}): Promise<ChildCollector> {
  const child = spawn(process.execPath, [...COSTTRACE_CLI, 'serve', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /costtrace listening on (http:\/\/\S+)\n/.exec(out);
      if (m) resolve(m[1] as string);
    });
    exited.then((code) => reject(new Error(`collector exited with ${code} before listening: ${err}`)));
  });
  return { child, url, stderr: () => err, exited };
}
