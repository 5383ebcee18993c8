/**
 * The dashboard (same port, at `/`): a static page and our script, plus the few browser libraries it uses
 * (Preact + htm for components, uPlot for charts) served from node_modules — nothing from a CDN, so it works
 * offline. The page reads only the public API; with read tokens configured it asks for one and sends it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const require = createRequire(import.meta.url);
const PUBLIC = fileURLToPath(new URL('./public/', import.meta.url));

interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** A file next to a package's main entry (the browser builds sit beside it; "exports" hides their paths). */
function beside(specifier: string, fileName: string): string {
  return join(dirname(require.resolve(specifier)), fileName);
}

function load(): Map<string, Asset> {
  const file = (path: string, type: string): Asset => ({ body: readFileSync(path), type });
  return new Map([
    ['/', file(`${PUBLIC}index.html`, 'text/html; charset=utf-8')],
    ['/app.js', file(`${PUBLIC}app.js`, JS)],
    ['/format.js', file(`${PUBLIC}format.js`, JS)],
    ['/ui.js', file(`${PUBLIC}ui.js`, JS)],
    ['/costs.js', file(`${PUBLIC}costs.js`, JS)],
    ['/customer-extras.js', file(`${PUBLIC}customer-extras.js`, JS)],
    ['/style.css', file(`${PUBLIC}style.css`, CSS)],
    ['/assets/preact.module.js', file(beside('preact', 'preact.module.js'), JS)],
    ['/assets/hooks.module.js', file(beside('preact/hooks', 'hooks.module.js'), JS)],
    ['/assets/htm.module.js', file(beside('htm', 'htm.module.js'), JS)],
    ['/assets/uPlot.esm.js', file(beside('uplot', 'uPlot.esm.js'), JS)],
    ['/assets/uPlot.min.css', file(beside('uplot', 'uPlot.min.css'), CSS)],
  ]);
}

export async function dashboard(app: FastifyInstance): Promise<void> {
  const assets = load();
  for (const [url, asset] of assets) {
    app.get(url, { config: { scope: 'public' }, schema: { hide: true } }, async (_request, reply) =>
      reply.header('content-type', asset.type).header('cache-control', 'no-cache').send(asset.body),
    );
  }
}
