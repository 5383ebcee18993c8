/** Shared by the HTTP benches: `costtrace serve` in its own process on a fresh DuckDB file, and its RSS. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchServer {
  readonly child: ChildProcess;
  readonly url: string;
  /** Highest RSS seen so far (MB), sampled every 100 ms. */
  maxRssMb(): number;
  /** RSS now (MB). */
  rssNowMb(): number;
  /** Resets the peak to the current RSS. */
  resetPeak(): void;
  /** CPU seconds (user + system, all threads) the server has used so far. */
  cpuSeconds(): number;
  /** SIGTERM, and the CPU seconds it had used when it exited (its shutdown CHECKPOINT included; read every 5 ms). */
  stop(): Promise<number>;
}

export async function startBenchServer(
  dir: string,
  name: string,
  env: Record<string, string> = {},
): Promise<BenchServer> {
  const bin = fileURLToPath(new URL('../collector/bin.js', import.meta.url));
  // The same V8 flag as `npm start` and the costtrace bin (collector/bin.js).
  const child = spawn(
    process.execPath,
    // BENCH_NODE_ARGS adds flags to the server's node, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it.
    [
      '--max-semi-space-size=32',
      ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
      bin,
      'serve',
      '--port',
      '0',
      '--db',
      join(dir, `${name}.duckdb`),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } },
  );
  const url = await new Promise<string>((resolve) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)\n/.exec(out);
      if (m) resolve(m[1] as string);
    });
  });
  const pid = child.pid as number;
  let peak = rssMb(pid);
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 100);
  return {
    child,
    url,
    maxRssMb: () => Math.round(peak),
    rssNowMb: () => Math.round(rssMb(pid)),
    resetPeak: () => {
      peak = rssMb(pid);
    },
    cpuSeconds: () => cpuSeconds(pid),
    async stop() {
      clearInterval(sampler);
      let last = cpuSeconds(pid);
      const reader = setInterval(() => {
        const now = cpuSeconds(pid);
        if (now > 0) last = now;
      }, 5);
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      clearInterval(reader);
      return last;
    },
  };
}

/** utime + stime of a process from /proc (clock ticks; 100 per second on Linux). */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}
