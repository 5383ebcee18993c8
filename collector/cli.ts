/**
 * `costtrace <command>`: `serve` starts the collector (CONTRACT.md §1).
 */

import { ConfigError, parseServeConfig } from './config.ts';
import { serveUntilSignal } from './server.ts';

const USAGE = `usage: costtrace serve [--host 127.0.0.1] [--port 4318] [--db ./costtrace.duckdb] [--max-body-bytes 20971520]
  environment: COSTTRACE_HOST, COSTTRACE_PORT, COSTTRACE_DB, COSTTRACE_MAX_BODY_BYTES,
               COSTTRACE_INGEST_TOKEN, COSTTRACE_READ_TOKEN (comma-separated lists)`;

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'serve') {
    process.stderr.write(`costtrace: unknown command "${command}"\n${USAGE}\n`);
    return 2;
  }
  try {
    return await serveUntilSignal(parseServeConfig(rest, env));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`costtrace: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`costtrace: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
