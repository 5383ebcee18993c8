// Builds the instrumentation entry points into dist/ as ESM and CommonJS (run by `npm install` via
// `prepare`, and before the tests): apps load plain JavaScript, whatever their module system.
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
};
await build({ ...common, entryPoints: ['instrumentations/index.ts'], format: 'esm', outfile: 'dist/index.mjs' });
await build({ ...common, entryPoints: ['instrumentations/index.ts'], format: 'cjs', outfile: 'dist/index.cjs' });
await build({
  ...common,
  entryPoints: ['instrumentations/register-esm.ts'],
  format: 'esm',
  outfile: 'dist/register.mjs',
});
await build({
  ...common,
  entryPoints: ['instrumentations/register-cjs.ts'],
  format: 'cjs',
  outfile: 'dist/register.cjs',
});
