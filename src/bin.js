#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader (no build step on install).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2), process.env);
