/**
 * One import and one withCustomer call: an ESM app (`node --import @costtrace/node/register`) and a CommonJS app
 * (`node -r @costtrace/node/register`) in child processes export to a real collector; the cost tree read back has
 * the LLM call priced from the table, the email API priced by rule, the customer on every span.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeVendors, startFakeVendors } from '../../examples/support/fake-vendors.ts';
import { startTestCollector, type TestCollector } from '../helpers/collector.ts';

const run = promisify(execFile);
const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
let collector: TestCollector;
let vendors: FakeVendors;
let dir: string;
beforeAll(async () => {
  collector = await startTestCollector();
  vendors = await startFakeVendors();
  dir = mkdtempSync(join(tmpdir(), 'costtrace-register-'));
  const host = new URL(vendors.url).host.split(':')[0];
  writeFileSync(
    join(dir, 'rules.json'),
    JSON.stringify({ http: [{ host, method: 'POST', path: '/v3/mail/*', centsPerRequest: 0.1 }] }),
  );
});
afterAll(async () => {
  await collector.close();
  await vendors.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Node {
  name: string;
  customer_id: string;
  cost: number | null;
  revenue: number | null;
  children: Node[];
}
const flatten = (nodes: Node[]): Node[] => nodes.flatMap((n) => [n, ...flatten(n.children)]);

describe.each([
  ['ESM', '--import', 'traced-app.mjs', 'esm-customer'],
  ['CommonJS', '-r', 'traced-app.cjs', 'cjs-customer'],
])('%s app with @costtrace/node/register', (_kind, flag, app, customer) => {
  it('sends priced, attributed spans to the collector', async () => {
    const { stdout } = await run(process.execPath, [flag, '@costtrace/node/register', join(FIXTURES, app)], {
      cwd: FIXTURES,
      env: {
        ...process.env,
        FAKE_VENDORS_URL: vendors.url,
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_SERVICE_NAME: `traced-app-${customer}`,
        COSTTRACE_RULES_FILE: join(dir, 'rules.json'),
      },
    });
    const { traceId } = JSON.parse(stdout.trim()) as { traceId: string };
    const res = await fetch(`${collector.url}/v1/traces/${traceId}`);
    expect(res.status).toBe(200);
    const tree = (await res.json()) as { customer_id: string; total_cost: number; spans: Node[] };
    expect(tree.customer_id).toBe(customer);
    expect(tree.total_cost).toBe(0.7);
    const spans = flatten(tree.spans);
    expect(spans.every((s) => s.customer_id === customer)).toBe(true);
    expect(spans.find((s) => s.name === 'POST /answer')?.revenue).toBe(250);
    expect(spans.find((s) => s.name === 'chat gpt-4o')?.cost).toBe(0.6);
    expect(spans.filter((s) => s.cost === 0.1)).toHaveLength(1);
  });
});
