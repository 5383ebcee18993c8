/** `npm run example` end to end: collector, fakes, PostgreSQL, the instrumented app, and the printed table. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('npm run example', () => {
  it('prints every customer, least profitable first, with LLM, email and database costs', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/run.ts'], {
      cwd: ROOT,
      timeout: 120_000,
    });
    const rows = stdout
      .split('\n')
      .filter((l) => /^(acme|globex|initech|umbrella)\s/.test(l))
      .map((l) => l.split(/\s+/));
    expect(rows.map((r) => r[0])).toEqual(['umbrella', 'initech', 'globex', 'acme']);
    for (const r of rows) expect(Number(r[2])).toBeGreaterThan(0); // every customer has costs
    expect(rows.find((r) => r[0] === 'umbrella')?.[3]).toMatch(/^-/); // the free tier loses money
    const drivers = stdout.slice(stdout.indexOf('What drove cost'));
    for (const span of ['chat gpt-4o', 'anthropic.messages.create', 'POST', 'chat gpt-4o-mini', 'pg.query:INSERT']) {
      expect(drivers).toContain(span);
    }
  });
});
