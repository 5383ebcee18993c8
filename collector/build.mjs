// Compiles the collector (and the shared src/ it imports) to JavaScript + .d.ts with tsc into dist/, and copies
// the dashboard's static files beside the compiled plugin. tsc rather than a bundler: the output keeps the source
// layout (decode workers load their own compiled file; the dashboard finds its files next to its module) and
// tsc is already the project's typechecker. Run by the workspace's `npm install` (prepare) and by `npm pack`.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const require = createRequire(import.meta.url);
rmSync(here('./dist'), { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', here('./tsconfig.build.json')], {
  stdio: 'inherit',
});
cpSync(here('./dashboard/public'), here('./dist/collector/dashboard/public'), { recursive: true });

// tsc keeps the sources' `.ts` import specifiers in .d.ts files; consumers resolve `.js` ones.
for (const entry of readdirSync(here('./dist'), { recursive: true })) {
  if (!String(entry).endsWith('.d.ts')) continue;
  const file = `${here('./dist')}/${entry}`;
  writeFileSync(file, readFileSync(file, 'utf8').replace(/(from '\.{1,2}\/[^']*)\.ts'/g, "$1.js'"));
}
