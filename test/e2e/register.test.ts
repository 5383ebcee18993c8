/**
 * One import and one withCustomer call: an ESM app (`node --import @costtrace/node/register`) and a CommonJS app
 * (`node -r @costtrace/node/register`) in child processes export to a real collector; the cost tree read back has
 * the LLM call priced from the table, the email API priced by rule, the customer on every span. (The same apps
 * run against the packed tarball in packages.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { type FakeVendors, startFakeVendors } from '../../examples/support/fake-vendors.ts';
import { startTestCollector, type TestCollector } from '../helpers/collector.ts';
import { expectPricedTrace } from '../helpers/traced-app.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
let collector: TestCollector;
let vendors: FakeVendors;
let dir: string;
beforeAll(async () => {
  collector = await startTestCollector();
  vendors = await startFakeVendors();
  dir = mkdtempSync(join(tmpdir(), 'costtrace-register-'));
});
afterAll(async () => {
  await collector.close();
  await vendors.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.each([
  ['ESM', '--import', 'traced-app.mjs', 'esm-customer'],
  ['CommonJS', '-r', 'traced-app.cjs', 'cjs-customer'],
])('%s app with @costtrace/node/register', (_kind, flag, app, customer) => {
  it('sends priced, attributed spans to the collector', async () => {
    await expectPricedTrace({
      collectorUrl: collector.url,
      vendorsUrl: vendors.url,
      cwd: FIXTURES,
      args: [flag, '@costtrace/node/register', join(FIXTURES, app)],
      customer,
      rulesDir: dir,
    });
  });
});
