// The size rules of docs/architecture.md, run by `npm run lint`: no source folder holds more than 16 source files
// directly, no source file more than 450 lines (the protobuf decoder excepted). dependency-cruiser checks imports,
// Biome style; neither counts files per folder, so this is the one hand-written rule: a dozen lines, no library.
// `node .ci/layout-lint.mjs [ROOT]` prints every breach and exits 1 when there is one.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const MAX_FILES_PER_FOLDER = 16;
export const MAX_LINES_PER_FILE = 450;
const EXCEPTED = new Set(['collector/decode/protobuf.ts']);
const SOURCE = /\.(ts|js|mjs|cjs)$/;
const SKIP = new Set(['node_modules', 'dist', 'public']);

export function layoutBreaches(root, folders = ['src', 'collector', 'instrumentations']) {
  const breaches = [];
  const walk = (dir) => {
    const entries = readdirSync(dir).filter((e) => !SKIP.has(e));
    const files = entries.filter((e) => SOURCE.test(e) && !e.endsWith('.d.ts') && statSync(join(dir, e)).isFile());
    const rel = relative(root, dir);
    if (files.length > MAX_FILES_PER_FOLDER) {
      breaches.push(
        `${rel}/ holds ${files.length} source files (at most ${MAX_FILES_PER_FOLDER}): split it by what the files own`,
      );
    }
    for (const f of files) {
      const lines = readFileSync(join(dir, f), 'utf8').split('\n').length;
      const path = `${rel}/${f}`;
      if (lines > MAX_LINES_PER_FILE && !EXCEPTED.has(path)) {
        breaches.push(`${path} has ${lines} lines (at most ${MAX_LINES_PER_FILE}): split it`);
      }
    }
    for (const e of entries) if (statSync(join(dir, e)).isDirectory()) walk(join(dir, e));
  };
  for (const f of folders) {
    try {
      statSync(join(root, f));
    } catch {
      continue;
    }
    walk(join(root, f));
  }
  return breaches;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const breaches = layoutBreaches(process.argv[2] ?? process.cwd());
  for (const b of breaches) process.stderr.write(`layout: ${b}\n`);
  if (breaches.length > 0) process.exit(1);
  process.stdout.write('layout: every folder and file within its size\n');
}
