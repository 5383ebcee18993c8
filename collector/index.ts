/** The collector as a library: open it on a DuckDB file (tests, embedding) or run the server. */
export { type AppConfig, type AppDeps, buildApp } from './app.ts';
export { type Collector, type CollectorOptions, openCollector } from './collector.ts';
export { parseServeConfig, type ServeConfig } from './config.ts';
export { type RunningServer, startServer } from './server.ts';
