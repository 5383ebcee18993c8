/**
 * `costtrace <command>`: `serve` starts the collector (docs/contract.md §1); `export` writes a database as Parquet
 * (§10). Exit codes: 0 done, 1 failed (the reason on stderr), 2 bad usage.
 */

import { ConfigError, parseServeConfig } from './config.ts';
import { ExportError, exportParquet, parseExportArgs } from './export.ts';
import { serveUntilSignal } from './server.ts';

const USAGE = `usage: costtrace serve [--host 127.0.0.1] [--port 4318] [--db ./costtrace.duckdb] [--max-body-bytes 20971520]
                       [--retain-spans-days 0] [--prices FILE]
       costtrace export --db FILE --out DIR [--start-date YYYY-MM-DD] [--end-date YYYY-MM-DD]
  environment: COSTTRACE_HOST, COSTTRACE_PORT, COSTTRACE_DB, COSTTRACE_MAX_BODY_BYTES, COSTTRACE_RETAIN_SPANS_DAYS,
               COSTTRACE_PRICES_FILE, COSTTRACE_INGEST_TOKEN, COSTTRACE_READ_TOKEN, COSTTRACE_ADMIN_TOKEN (comma-separated lists),
               COSTTRACE_ALLOWED_HOSTS, COSTTRACE_SNAPSHOT_DIR, COSTTRACE_ALLOW_PRIVATE_WEBHOOKS (README "Security")`;

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  try {
    if (command === 'serve') return await serveUntilSignal(parseServeConfig(rest, env));
    if (command === 'export') {
      const options = parseExportArgs(rest);
      const { records } = await exportParquet(options);
      process.stdout.write(`costtrace: exported ${records} records to ${options.outDir}\n`);
      return 0;
    }
    process.stderr.write(`costtrace: unknown command "${command}"\n${USAGE}\n`);
    return 2;
  } catch (err) {
    process.stderr.write(`costtrace: ${err instanceof Error ? err.message : String(err)}\n`);
    if (err instanceof ConfigError || (err instanceof ExportError && err.message.startsWith('usage:'))) return 2;
    return 1;
  }
}
