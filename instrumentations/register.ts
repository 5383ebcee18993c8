/**
 * What `node --import @costtrace/node/register` / `node -r @costtrace/node/register` run before the app: start cost
 * tracing from the environment. Standard OTEL_* variables configure the SDK and exporter; cost rules come
 * from the JSON file named by COSTTRACE_RULES_FILE (`{"http": [...], "db": [...]}`, see types.ts).
 * SIGTERM/SIGINT and normal exit flush the spans still buffered.
 */
import { readFileSync } from 'node:fs';
import { diag } from '@opentelemetry/api';
import { startCostTracing } from './start.ts';
import type { CostRules } from './types.ts';

function rulesFromEnv(): CostRules {
  const file = process.env.COSTTRACE_RULES_FILE;
  if (!file) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as CostRules;
  } catch (err) {
    diag.error(`costtrace: could not read COSTTRACE_RULES_FILE ${file}`, err);
    return {};
  }
}

const tracing = startCostTracing({
  rules: rulesFromEnv(),
  propagateCustomer: process.env.COSTTRACE_PROPAGATE_CUSTOMER === 'true',
});

let flushed = false;
const flush = () => {
  if (flushed) return Promise.resolve();
  flushed = true;
  return tracing.shutdown();
};
process.once('beforeExit', () => void flush());
// On a signal, flush; if nobody else handles the signal, then die of it as Node would have.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    const appHandlesIt = process.listenerCount(signal) > 0;
    void flush().finally(() => {
      if (!appHandlesIt) process.kill(process.pid, signal);
    });
  });
}
