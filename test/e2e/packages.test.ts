/**
 * The two packages as users get them: `npm pack` each, install each tarball alone into a fresh project (no
 * workspace links), then run `npx costtrace serve` from one and ESM + CommonJS apps using only
 * `@costtrace/node` from the other. The SDK's install must hold no database, web-server, dashboard or build tool.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeVendors, startFakeVendors } from '../../examples/support/fake-vendors.ts';
import { startTestCollector, type TestCollector } from '../helpers/collector.ts';
import { expectPricedTrace } from '../helpers/traced-app.ts';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let dir: string;
let tarballs: { collector: string; sdk: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'costtrace-packages-'));
  const { stdout } = await exec(
    NPM,
    ['pack', '--workspace', 'collector', '--workspace', 'instrumentations', '--pack-destination', dir, '--json'],
    { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 },
  );
  const packed = JSON.parse(stdout) as Array<{ name: string; filename: string }>;
  const file = (name: string) => join(dir, packed.find((p) => p.name === name)?.filename ?? '');
  tarballs = { collector: file('costtrace'), sdk: file('@costtrace/node') };
}, 300_000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh project with nothing of ours but the given tarball (and the app's own libraries). */
async function project(name: string, packages: string[]): Promise<string> {
  const cwd = join(dir, name);
  mkdirSync(cwd);
  writeFileSync(join(cwd, 'package.json'), JSON.stringify({ name, private: true, version: '1.0.0' }));
  await exec(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', ...packages], {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
  });
  return cwd;
}

/** Names of every package installed under `node_modules`, nested ones included. */
function installedPackages(nodeModules: string): Set<string> {
  const names = new Set<string>();
  const walk = (folder: string) => {
    if (!existsSync(folder)) return;
    for (const entry of readdirSync(folder)) {
      if (entry.startsWith('.')) continue;
      if (entry.startsWith('@')) {
        for (const scoped of readdirSync(join(folder, entry))) {
          names.add(`${entry}/${scoped}`);
          walk(join(folder, entry, scoped, 'node_modules'));
        }
      } else {
        names.add(entry);
        walk(join(folder, entry, 'node_modules'));
      }
    }
  };
  walk(nodeModules);
  return names;
}

describe('costtrace (the collector) from its tarball', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    // npx runs the server as its child: stop the whole process group.
    if (child?.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
  });

  it('installs alone and `npx costtrace serve` serves health, the dashboard and the OpenAPI document', async () => {
    const cwd = await project('ops', [tarballs.collector]);
    const installed = installedPackages(join(cwd, 'node_modules'));
    for (const tool of ['tsx', 'typescript', 'esbuild', 'vitest']) expect(installed.has(tool)).toBe(false);
    child = spawn('npx', ['--no-install', 'costtrace', 'serve', '--port', '0', '--db', './costtrace.duckdb'], {
      cwd,
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child?.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (\S+)\n/.exec(out);
        if (m) resolve(m[1] as string);
      });
      child?.once('exit', (code) => reject(new Error(`costtrace serve exited with ${code}: ${out}`)));
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module"');
    const openapi = await fetch(`${url}/openapi.json`);
    expect(openapi.status).toBe(200);
    expect(((await openapi.json()) as { openapi: string }).openapi).toMatch(/^3\.1\./);
    const span = await fetch(`${url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), name: 'x' }] }] }],
      }),
    });
    expect(span.status).toBe(200);
    expect((await fetch(`${url}/v1/traces/${'a'.repeat(32)}`)).status).toBe(200);
  }, 300_000);
});

describe('@costtrace/node (the SDK) from its tarball', () => {
  let collector: TestCollector;
  let vendors: FakeVendors;
  let cwd: string;
  beforeAll(async () => {
    collector = await startTestCollector();
    vendors = await startFakeVendors();
    cwd = await project('app', [tarballs.sdk, '@opentelemetry/api@1.9.1', 'openai@5.23.2']);
    for (const app of ['traced-app.mjs', 'traced-app.cjs']) copyFileSync(join(FIXTURES, app), join(cwd, app));
  }, 300_000);
  afterAll(async () => {
    await collector?.close();
    await vendors?.close();
  });

  it('brings no database, web server, dashboard or build tool into the app', () => {
    const installed = installedPackages(join(cwd, 'node_modules'));
    expect(installed.has('@costtrace/node')).toBe(true);
    const unwanted = [
      '@duckdb/node-api',
      'fastify',
      'preact',
      'htm',
      'uplot',
      'prom-client',
      'costtrace',
      'tsx',
      'typescript',
      'esbuild',
      '@opentelemetry/sdk-node',
    ];
    expect(unwanted.filter((name) => installed.has(name))).toEqual([]);
  });

  it.each([
    ['ESM', '--import', 'traced-app.mjs', 'esm-customer'],
    ['CommonJS', '-r', 'traced-app.cjs', 'cjs-customer'],
  ])('a %s app sends priced, attributed spans', async (_kind, flag, app, customer) => {
    await expectPricedTrace({
      collectorUrl: collector.url,
      vendorsUrl: vendors.url,
      cwd,
      args: [flag, '@costtrace/node/register', join(cwd, app)],
      customer,
      rulesDir: dir,
    });
  });
});
