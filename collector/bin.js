#!/usr/bin/env -S node --max-semi-space-size=32
// The `costtrace` command: the compiled CLI in dist/ (built by tsc; docs/contract.md §7: no TypeScript loader, no
// build tool at run time). Inside the repository `npm start` runs the sources instead (collector/main.ts via tsx).
// --max-semi-space-size=32 (MB; V8's default is 16): ingest allocates many short-lived objects per span, and a
// larger young generation measured +12% end-to-end spans/s for +13 MB RSS (docs/benchmarks.md). `npm start`
// and the benches pass the same flag.
import './dist/collector/main.js';
