#!/usr/bin/env -S node --max-semi-space-size=32
// Runs the TypeScript sources directly through tsx's loader (no build step on install).
// --max-semi-space-size=32 (MB; V8's default is 16): ingest allocates many short-lived objects per span, and a
// larger young generation measured +12% end-to-end spans/s for +13 MB RSS (docs/benchmarks.md). `npm start`
// and bench/ingest.ts pass the same flag.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2), process.env);
