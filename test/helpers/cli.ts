/**
 * How tests run the `costtrace` command: the CLI's sources through tsx (as `npm start` does), so a test never runs
 * a stale build. The compiled bin users install is tested by test/e2e/packages.test.ts from the packed tarball.
 */
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../collector/main.ts', import.meta.url));

/** Node arguments before the CLI's own: `spawn(process.execPath, [...COSTTRACE_CLI, 'serve', …])`. */
export const COSTTRACE_CLI: readonly string[] = ['--import', 'tsx', MAIN];
