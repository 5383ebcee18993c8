/**
 * The walls of docs/architecture.md fail the build (`npm run lint`): a scratch tree shaped like the collector breaks
 * each import rule of .dependency-cruiser.cjs once, and the project's own config must name every rule broken; the
 * same tree without the breaking imports passes. The size rules (.ci/layout-lint.mjs) are held at their edges.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module without types (the lint script itself)
import { layoutBreaches, MAX_FILES_PER_FOLDER, MAX_LINES_PER_FILE } from '../../.ci/layout-lint.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const scratch = mkdtempSync(join(tmpdir(), 'costtrace-walls-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Writes `files` (path → source) under a fresh folder with a tsconfig like the project's; returns the folder. */
function tree(name: string, files: Record<string, string>): string {
  const dir = join(scratch, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'NodeNext', allowImportingTsExtensions: true, noEmit: true } }),
  );
  return dir;
}

/** Runs dependency-cruiser with the project's rules in `dir`: its exit status and report. */
function cruise(dir: string): { status: number; out: string } {
  try {
    const out = execFileSync(
      process.execPath,
      [DEPCRUISE, '--config', CONFIG, 'src', 'collector', 'instrumentations'],
      {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    return { status: 0, out };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { status: e.status, out: `${e.stdout}${e.stderr}` };
  }
}

const ok = 'export const x = 1;\n';
/** Every rule and one import that breaks it: [rule, importing file, imported file]. */
const BREACHES: ReadonlyArray<readonly [string, string, string]> = [
  ['src-is-the-shared-core', 'src/money.ts', 'collector/core/limits.ts'],
  ['sdk-is-not-the-server', 'instrumentations/index.ts', 'collector/core/errors.ts'],
  ['core-is-the-base', 'collector/core/limits.ts', 'collector/db/sql.ts'],
  ['db-is-the-engine', 'collector/db/sql.ts', 'collector/writer/ingest-queue.ts'],
  ['clickhouse-is-an-engine', 'collector/clickhouse/ddl.ts', 'collector/db/sql.ts'],
  ['writer-knows-projections-not-features', 'collector/writer/span-writes.ts', 'collector/features/meters/meters.ts'],
  ['derived-knows-no-feature', 'collector/derived/rollup.ts', 'collector/features/budgets/budget-checks.ts'],
  ['reads-are-below-features', 'collector/reads/metric-reads.ts', 'collector/features/insights/insight-reads.ts'],
  ['routes-never-touch-the-database', 'collector/api/metrics.ts', 'collector/db/database.ts'],
  ['routes-never-touch-the-database', 'collector/features/meters/routes.ts', 'collector/features/meters/meters.ts'],
  [
    'features-meet-through-models',
    'collector/features/insights/insight-reads.ts',
    'collector/features/budgets/budgets.ts',
  ],
  ['models-are-pure', 'collector/features/budgets/windows.ts', 'collector/db/sql.ts'],
  ['pure-pipeline', 'collector/pipeline/normalize.ts', 'collector/features/prices/service.ts'],
  ['jobs-know-no-feature', 'collector/jobs/periodic-job.ts', 'collector/core/time.ts'],
];

/** The files of the scratch collector, each exporting `x`; `imports` adds `import { x as _n } from '…'` lines. */
function collectorTree(name: string, imports: ReadonlyArray<readonly [string, string]>): string {
  const files: Record<string, string> = {};
  for (const [, from, to] of BREACHES) {
    files[from] = ok;
    files[to] = ok;
  }
  files['collector/features/prices/pricing.ts'] = ok;
  imports.forEach(([from, to], i) => {
    const rel = join(
      ...from
        .split('/')
        .slice(0, -1)
        .map(() => '..'),
      to,
    );
    files[from] = `import { x as _${i} } from '${rel}';\n${files[from] ?? ''}export const y${i} = _${i};\n`;
  });
  return tree(name, files);
}

describe('the import walls (.dependency-cruiser.cjs)', () => {
  it('pass a tree that keeps them: models, the projection interface, services and the ingest queue where allowed', () => {
    const dir = collectorTree('clean', [
      ['collector/pipeline/normalize.ts', 'collector/features/prices/pricing.ts'],
      ['collector/features/insights/insight-reads.ts', 'collector/features/budgets/windows.ts'],
      ['collector/api/metrics.ts', 'collector/writer/ingest-queue.ts'],
      ['collector/db/sql.ts', 'collector/core/limits.ts'],
    ]);
    const { status, out } = cruise(dir);
    expect(out).toMatch(/no dependency violations found/);
    expect(status).toBe(0);
  });

  it.each(BREACHES)('fail on %s (%s → %s)', (rule, from, to) => {
    const dir = collectorTree(`breach-${rule}-${from.replaceAll('/', '_')}`, [[from, to]]);
    const { status, out } = cruise(dir);
    expect(status).not.toBe(0);
    expect(out).toContain(`error ${rule}: ${from} → ${to}`);
  });

  it('fail on an import cycle', () => {
    const dir = tree('cycle', {
      'collector/reads/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
      'collector/reads/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
      'src/money.ts': ok,
      'instrumentations/index.ts': ok,
    });
    const { status, out } = cruise(dir);
    expect(status).not.toBe(0);
    expect(out).toContain('error no-cycles');
  });
});

describe('the size rules (.ci/layout-lint.mjs)', () => {
  const lines = (n: number) => `${Array.from({ length: n - 1 }, (_, i) => `export const v${i} = ${i};`).join('\n')}\n`;

  it(`allow ${MAX_FILES_PER_FOLDER} source files in a folder and ${MAX_LINES_PER_FILE} lines in a file`, () => {
    const files: Record<string, string> = { 'collector/big.ts': lines(MAX_LINES_PER_FILE) };
    for (let i = 0; i < MAX_FILES_PER_FOLDER; i++) files[`collector/many/f${i}.ts`] = ok;
    expect(layoutBreaches(tree('sizes-ok', files))).toEqual([]);
  });

  it('refuse one file more, one line more — naming the folder and the file; the protobuf decoder is excepted', () => {
    const files: Record<string, string> = {
      'collector/big.ts': lines(MAX_LINES_PER_FILE + 1),
      'collector/decode/protobuf.ts': lines(MAX_LINES_PER_FILE + 100),
      'collector/many/notes.md': 'not source',
    };
    for (let i = 0; i <= MAX_FILES_PER_FOLDER; i++) files[`collector/many/f${i}.ts`] = ok;
    const breaches = layoutBreaches(tree('sizes-over', files)) as string[];
    expect(breaches).toHaveLength(2);
    expect(breaches.join('\n')).toContain(`collector/many/ holds ${MAX_FILES_PER_FOLDER + 1} source files`);
    expect(breaches.join('\n')).toContain(`collector/big.ts has ${MAX_LINES_PER_FILE + 1} lines`);
  });

  it('hold for the project itself', () => {
    expect(layoutBreaches(ROOT)).toEqual([]);
  });
});
