/**
 * Validation is linear in the input size (docs/contract.md §12 v3): megabyte inputs to the definition routes are
 * answered with 422 while the server keeps answering others. The price book's amount pattern backtracked
 * quadratically (an 80 KB amount held the event loop 14 s; a megabyte would hold it for hours, past this test's
 * time limit).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../helpers/collector.ts';
import { post, putJson } from '../helpers/http.ts';

let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector();
});
afterAll(async () => {
  await c.close();
});

const MB = 1024 * 1024;

const put = (path: string, body: unknown) => putJson<{ detail?: Array<{ loc: unknown[] }> }>(`${c.url}${path}`, body);

describe('megabyte inputs', () => {
  it.each([
    ['digits then a letter', `${'1'.repeat(MB)}x`],
    ['a point and digits then a letter', `1.${'1'.repeat(MB)}x`],
    ['digits then spaces then a letter', `${'1'.repeat(MB / 2)}${' '.repeat(MB / 2)}x`],
  ])(
    'a price-book amount of %s is refused with its location, and /healthz answers meanwhile',
    async (_what, amount) => {
      const book = { models: [{ model: 'm', input_usd_per_mtok: amount, output_usd_per_mtok: '1' }] };
      const [res, health] = await Promise.all([put('/v1/prices', book), fetch(`${c.url}/healthz`)]);
      expect(health.status).toBe(200);
      expect(res.status).toBe(422);
      expect(res.body.detail?.map((d) => d.loc)).toContainEqual(['body', 'models', 0, 'input_usd_per_mtok']);
      expect((await fetch(`${c.url}/v1/prices`)).status).toBe(200);
    },
  );

  it('a megabyte meter key is refused with 422', async () => {
    const res = await post(`${c.url}/v1/meters`, {
      name: 'm',
      aggregation: { func: 'sum', property: `${'a.'.repeat(MB / 2)}.` },
    });
    expect(res.status).toBe(422);
  });
});
