// Builds @costtrace/node into dist/: esbuild bundles each entry point as ESM and CommonJS (apps load plain
// JavaScript, whatever their module system; the shared src/ code is bundled in, dependencies stay external),
// and tsc emits the .d.ts files. Run by the workspace's `npm install` (prepare), by `npm test` and by `npm pack`.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const require = createRequire(import.meta.url);
rmSync(here('./dist'), { recursive: true, force: true });

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
};
const entries = [
  ['index.ts', 'esm', 'dist/index.mjs'],
  ['index.ts', 'cjs', 'dist/index.cjs'],
  ['register-esm.ts', 'esm', 'dist/register.mjs'],
  ['register-cjs.ts', 'cjs', 'dist/register.cjs'],
];
await Promise.all(
  entries.map(([entry, format, outfile]) =>
    build({ ...common, entryPoints: [here(`./${entry}`)], format, outfile: here(`./${outfile}`) }),
  ),
);
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', here('./tsconfig.build.json')], {
  stdio: 'inherit',
});

// tsc keeps the sources' `.ts` import specifiers in .d.ts files; consumers resolve `.js` ones.
for (const entry of readdirSync(here('./dist/types'), { recursive: true })) {
  if (!String(entry).endsWith('.d.ts')) continue;
  const file = `${here('./dist/types')}/${entry}`;
  writeFileSync(file, readFileSync(file, 'utf8').replace(/(from '\.{1,2}\/[^']*)\.ts'/g, "$1.js'"));
}
