#!/usr/bin/env -S node --max-semi-space-size=32
// The `costtrace` command. An installed package runs its compiled JavaScript (dist/, built by tsc); inside the
// repository, where the TypeScript sources sit beside this file, it runs them through tsx's loader (a dev
// dependency of the workspace, never of the package), so `npm start` needs no build step.
// --max-semi-space-size=32 (MB; V8's default is 16): ingest allocates many short-lived objects per span, and a
// larger young generation measured +12% end-to-end spans/s for +13 MB RSS (docs/benchmarks.md). `npm start`
// and the benches pass the same flag.
import { existsSync } from 'node:fs';

const source = new URL('./cli.ts', import.meta.url);
let cli;
if (existsSync(source) && process.env.COSTTRACE_COMPILED !== '1') {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(source.href);
} else {
  cli = await import(new URL('./dist/collector/cli.js', import.meta.url).href);
}
process.exitCode = await cli.main(process.argv.slice(2), process.env);
