/**
 * `npm run clickhouse:dev -- [--port N] [--path DIR] [--user U --password P]`: a ClickHouse HTTP endpoint for
 * development and tests (endpoint.ts), installing the engine on first use (install.ts). Prints
 * `clickhouse listening on http://127.0.0.1:N`; SIGTERM/SIGINT close it (the data stays in DIR).
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startClickHouseDev } from './endpoint.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8123' },
    path: { type: 'string', default: '.clickhouse-dev' },
    host: { type: 'string', default: '127.0.0.1' },
    user: { type: 'string', default: 'default' },
    password: { type: 'string', default: '' },
  },
  strict: true,
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(`clickhouse:dev: --port must be 0–65535, got ${values.port}\n`);
  process.exit(2);
}
const path = resolve(values.path);
mkdirSync(path, { recursive: true });
const dev = await startClickHouseDev({
  path,
  port,
  host: values.host,
  user: values.user,
  password: values.password,
});
let closing = false;
const stop = () => {
  if (closing) return;
  closing = true;
  void dev.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdout.write(`clickhouse ${dev.version} (chdb), data in ${path}\nclickhouse listening on ${dev.url}\n`);
