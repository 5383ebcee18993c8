/**
 * Users keep their data across versions: databases written by the releases with schema versions 3, 4 and 6
 * (test/fixtures/schema-v3, -v4 and -v6, made by make.ts with those releases' code; the v4 one with retention
 * on, the v6 one with a price book) open with this code and answer every question exactly as they did then; a failing migration leaves the file byte-identical and refuses to open;
 * a file from a newer costtrace, or a DuckDB file that is not ours, is refused with a clear message.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../collector/db/database.ts';
import { BASE_SCHEMA_VERSION, latestVersion, MIGRATIONS, type Migration } from '../../../collector/db/migrations.ts';
import { INSIGHT_QUESTIONS, QUESTIONS } from '../../fixtures/schema-v3/questions.ts';
import { startTestCollector } from '../../helpers/collector.ts';
import { type DriversBody, expectDriversLike } from '../../helpers/drivers.ts';
import { meterBackfilled } from '../../helpers/meters.ts';

const FIXTURE = fileURLToPath(new URL('../../fixtures/schema-v3/', import.meta.url));
const FIXTURE_V4 = fileURLToPath(new URL('../../fixtures/schema-v4/', import.meta.url));
const FIXTURE_V6 = fileURLToPath(new URL('../../fixtures/schema-v6/', import.meta.url));
const FIXTURE_V10 = fileURLToPath(new URL('../../fixtures/schema-v10/', import.meta.url));
const FIXTURE_V11 = fileURLToPath(new URL('../../fixtures/schema-v11/', import.meta.url));
const FIXTURE_V12 = fileURLToPath(new URL('../../fixtures/schema-v12/', import.meta.url));
const FIXTURE_V13 = fileURLToPath(new URL('../../fixtures/schema-v13/', import.meta.url));
const FIXTURE_V14 = fileURLToPath(new URL('../../fixtures/schema-v14/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'costtrace-upgrade-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function copyOfFixture(name: string): string {
  const path = join(dir, `${name}.duckdb`);
  copyFileSync(join(FIXTURE, 'costtrace.duckdb'), path);
  return path;
}
/** Opens `path` with this code and asks every question; each answer must be what `expected` says. */
async function expectAnswers(
  path: string,
  expected: (q: string) => { status: number; body: unknown },
  questions: readonly string[] = QUESTIONS,
  options: { pricesFile?: string; alsoIndexed?: boolean } = {},
) {
  const { alsoIndexed, ...collectorOptions } = options;
  const c = await startTestCollector({ dbPath: path, ...collectorOptions });
  try {
    const ask = async () => {
      for (const q of questions) {
        const res = await fetch(`${c.url}${q}`);
        const want = expected(q);
        const body = await res.json();
        if (q.startsWith('/v1/cost-drivers') && res.status === 200 && want.status === 200) {
          // Indexed days answer from the sketch: equal but for quantiles within its bound (drivers.ts).
          expectDriversLike(body as DriversBody, want.body as DriversBody, q);
          continue;
        }
        // Exactly what that release answered; fields added since (e.g. `unpriced_spans`) may come on top.
        expect({ q, status: res.status, body }).toMatchObject({
          q,
          ...want,
          body: want.body as object,
        });
      }
    };
    await ask();
    if (alsoIndexed) {
      // Again once the insight indexes (schema 13) hold every ended day and month of the file.
      await c.collector.indexInsights();
      const periods = await c.collector.db.read(async (conn) =>
        (await conn.runAndReadAll('SELECT kind, count(*) FROM indexed_periods GROUP BY kind ORDER BY kind')).getRows(),
      );
      expect(periods.map(([kind, n]) => [kind, Number(n) > 0])).toEqual([
        ['day', true],
        ['month', true],
      ]);
      await ask();
    }
    const version = await c.collector.db.read(async (conn) =>
      (await conn.runAndReadAll(`SELECT value FROM costtrace_meta WHERE key = 'schema_version'`)).getRows(),
    );
    expect(version).toEqual([[String(latestVersion())]]);
  } finally {
    await c.close(false);
  }
}
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('upgrades in place', () => {
  it('lists migrations in order, consecutive from the base version', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => BASE_SCHEMA_VERSION + 1 + i));
  });

  it('opens the schema-3 fixture and answers every question exactly as that release did', async () => {
    const answers = JSON.parse(readFileSync(join(FIXTURE, 'answers.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(answers)).toEqual([...QUESTIONS]);
    await expectAnswers(copyOfFixture('answers'), (q) => ({ status: 200, body: answers[q] }));
  });

  it('opens the schema-4 fixture (with spans removed by its retention) and answers as that release did', async () => {
    const answers = JSON.parse(readFileSync(join(FIXTURE_V4, 'answers.json'), 'utf8')) as Record<
      string,
      { status: number; body: unknown }
    >;
    expect(Object.keys(answers)).toEqual([...QUESTIONS]);
    expect(Object.values(answers).filter((a) => a.status === 410)).toHaveLength(2);
    const path = join(dir, 'v4.duckdb');
    copyFileSync(join(FIXTURE_V4, 'costtrace.duckdb'), path);
    await expectAnswers(path, (q) => answers[q] as { status: number; body: unknown });
  });

  it('opens the schema-6 fixture (spans priced by its price book) and answers as that release did', async () => {
    const answers = JSON.parse(readFileSync(join(FIXTURE_V6, 'answers.json'), 'utf8')) as Record<
      string,
      { status: number; body: unknown }
    >;
    const questions = [...QUESTIONS, '/v1/prices'];
    expect(Object.keys(answers)).toEqual(questions);
    expect(JSON.stringify(answers)).toContain('"cost_source":"priced"');
    const path = join(dir, 'v6.duckdb');
    copyFileSync(join(FIXTURE_V6, 'costtrace.duckdb'), path);
    // Started again with the same book file: the stored version stays in force (no new version).
    await expectAnswers(path, (q) => answers[q] as { status: number; body: unknown }, questions, {
      pricesFile: join(FIXTURE_V6, 'book.json'),
    });
    // What came since works on the upgraded file: a meter measures the spans that release stored.
    const c = await startTestCollector({ dbPath: path, pricesFile: join(FIXTURE_V6, 'book.json') });
    try {
      const spans = await c.collector.db.read(async (conn) =>
        Number((await conn.runAndReadAll(`SELECT count(*) FROM records WHERE source = 'span'`)).getRows()[0]?.[0]),
      );
      expect(spans).toBeGreaterThan(0);
      const res = await fetch(`${c.url}/v1/meters`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'spans', filter: {}, aggregation: { func: 'count' } }),
      });
      const { id } = (await res.json()) as { id: string };
      await meterBackfilled(c.url, id);
      const [from, to] = await c.collector.db.read(
        async (conn) =>
          (
            await conn.runAndReadAll(`SELECT min(ts)::DATE::VARCHAR, max(ts)::DATE::VARCHAR FROM records`)
          ).getRows()[0] as [string, string],
      );
      const answer = await fetch(
        `${c.url}/v1/meters/${id}/quantities?start_date=${from}&end_date=${to}&interval=month`,
      );
      expect(answer.status).toBe(200);
      const q = (await answer.json()) as { total: number };
      const settledSpansAndEvents = await c.collector.db.read(async (conn) =>
        Number(
          (
            await conn.runAndReadAll(`SELECT count(*) FROM records WHERE source IN ('span', 'event')`)
          ).getRows()[0]?.[0],
        ),
      );
      expect(q.total).toBe(settledSpansAndEvents);
    } finally {
      await c.close(false);
    }
  });

  for (const [version, fixture, made] of [
    [10, FIXTURE_V10, 'meters measured in step with the records'],
    [11, FIXTURE_V11, 'with meter totals for all customers'],
  ] as const) {
    it(`opens the schema-${version} fixture (four meters, ${made}) and answers every meter question as that release did`, async () => {
      const answers = JSON.parse(readFileSync(join(fixture, 'answers.json'), 'utf8')) as Record<
        string,
        { status: number; body: unknown }
      >;
      const meterQuestions = Object.keys(answers).filter((q) => q.startsWith('/v1/meters/') || q.includes('meter='));
      expect(meterQuestions).toHaveLength(13);
      expect(Object.keys(answers)).toEqual([...QUESTIONS, ...meterQuestions]);
      const path = join(dir, `v${version}.duckdb`);
      copyFileSync(join(fixture, 'costtrace.duckdb'), path);
      await expectAnswers(path, (q) => answers[q] as { status: number; body: unknown }, Object.keys(answers));
    });
  }

  it('opens the schema-12 fixture and answers every question, insights included, as that release did — before and after indexing', async () => {
    const answers = JSON.parse(readFileSync(join(FIXTURE_V12, 'answers.json'), 'utf8')) as Record<
      string,
      { status: number; body: unknown }
    >;
    expect(Object.keys(answers).filter((q) => q.startsWith('/v1/insights'))).toEqual(INSIGHT_QUESTIONS);
    const path = join(dir, 'v12.duckdb');
    copyFileSync(join(FIXTURE_V12, 'costtrace.duckdb'), path);
    await expectAnswers(path, (q) => answers[q] as { status: number; body: unknown }, Object.keys(answers), {
      alsoIndexed: true,
    });
  });

  for (const [version, fixture] of [
    [13, FIXTURE_V13],
    [14, FIXTURE_V14],
  ] as const) {
    it(`opens the schema-${version} fixture and answers every question as that release did`, async () => {
      const answers = JSON.parse(readFileSync(join(fixture, 'answers.json'), 'utf8')) as Record<
        string,
        { status: number; body: unknown }
      >;
      expect(Object.keys(answers).filter((q) => q.startsWith('/v1/insights'))).toEqual(INSIGHT_QUESTIONS);
      const path = join(dir, `v${version}.duckdb`);
      copyFileSync(join(fixture, 'costtrace.duckdb'), path);
      await expectAnswers(path, (q) => answers[q] as { status: number; body: unknown }, Object.keys(answers));
    });
  }

  it('migration 15 leaves records without a primary key, in time order, with every row', async () => {
    const path = join(dir, 'v14-keys.duckdb');
    copyFileSync(join(FIXTURE_V14, 'costtrace.duckdb'), path);
    const before = await DuckDBInstance.create(path);
    const c0 = await before.connect();
    const countBefore = (await c0.runAndReadAll('SELECT count(*) FROM records')).getRows();
    const keysBefore = (
      await c0.runAndReadAll(
        `SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'records' AND constraint_type = 'PRIMARY KEY'`,
      )
    ).getRows();
    c0.closeSync();
    before.closeSync();
    expect(keysBefore).toEqual([[1n]]);
    const db = await openDatabase(path, '256MB');
    const after = await db.read(async (conn) => ({
      count: (await conn.runAndReadAll('SELECT count(*) FROM records')).getRows(),
      keys: (
        await conn.runAndReadAll(
          `SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'records' AND constraint_type = 'PRIMARY KEY'`,
        )
      ).getRows(),
      outOfOrder: (
        await conn.runAndReadAll(
          'SELECT count(*) FROM (SELECT ts < lag(ts) OVER (ORDER BY rowid) AS back FROM records) WHERE back',
        )
      ).getRows(),
    }));
    await db.close();
    expect(after).toEqual({ count: countBefore, keys: [[0n]], outOfOrder: [[0n]] });
  });

  it('leaves the file byte-identical and refuses to open when a migration fails', async () => {
    const path = copyOfFixture('failing');
    const before = sha256(path);
    const failing: Migration[] = [
      ...MIGRATIONS,
      {
        version: latestVersion() + 1,
        description: 'adds a table',
        up: async (conn) => {
          await conn.run('CREATE TABLE upgrade_probe (x INTEGER)');
        },
      },
      {
        version: latestVersion() + 2,
        description: 'breaks on purpose',
        up: async (conn) => {
          await conn.run('SELECT * FROM no_such_table');
        },
      },
    ];
    await expect(openDatabase(path, '256MB', failing)).rejects.toThrow(
      new RegExp(
        `could not upgrade .*failing\\.duckdb from schema version ${BASE_SCHEMA_VERSION} to ${latestVersion() + 2}: ` +
          `migration ${latestVersion() + 2} \\(breaks on purpose\\) failed: [\\s\\S]*no_such_table[\\s\\S]*The file was not changed`,
      ),
    );
    expect(sha256(path)).toBe(before);
    // And it still opens with this version's migrations, without the probe table.
    const db = await openDatabase(path, '256MB');
    const tables = await db.read(async (conn) =>
      (
        await conn.runAndReadAll(`SELECT count(*) FROM information_schema.tables WHERE table_name = 'upgrade_probe'`)
      ).getRows(),
    );
    expect(tables).toEqual([[0n]]);
    await db.close();
  });

  it('refuses a file written by a newer costtrace, and a DuckDB file that is not ours', async () => {
    const newer = copyOfFixture('newer');
    const instance = await DuckDBInstance.create(newer);
    const conn = await instance.connect();
    await conn.run(`UPDATE costtrace_meta SET value = '${latestVersion() + 1}' WHERE key = 'schema_version'`);
    conn.closeSync();
    instance.closeSync();
    await expect(openDatabase(newer)).rejects.toThrow(/was written by a newer costtrace \(schema version \d+\)/);

    const foreign = join(dir, 'foreign.duckdb');
    const other = await DuckDBInstance.create(foreign);
    const oc = await other.connect();
    await oc.run('CREATE TABLE orders (id INTEGER)');
    oc.closeSync();
    other.closeSync();
    await expect(openDatabase(foreign)).rejects.toThrow(/not a costtrace database/);
  });
});
