/**
 * A meter definition can never stop writes (docs/contract.md §12 v3): keys with an empty path segment are refused at
 * definition time (they were accepted, and every later span, event and webhook write then failed with the engine's
 * "JSON path error" → 503); a broken meter stored by an earlier version is disabled when the collector opens the
 * file; a fold the engine refuses on a write disables the meter and the write is stored — logged, counted on
 * /metrics, shown in the meter's GET.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import type { Meter } from '../../collector/features/meters/definition.ts';
import { MeterProjection } from '../../collector/features/meters/meters.ts';
import { postJson, startTestCollector, type TestCollector } from '../helpers/collector.ts';
import { jsonRequest, spanIdOf, traceIdOf } from '../helpers/otlp.ts';

let c: TestCollector | undefined;
afterEach(async () => {
  await c?.close();
  c = undefined;
});

const SPAN_START = String(BigInt(Date.UTC(2026, 10, 2, 12)) * 1_000_000n);

/** Writes of every kind: a span request and an event request, both answered 200 and stored. */
async function expectWritesWork(n: number) {
  const spans = jsonRequest([
    { traceId: traceIdOf(n), spanId: spanIdOf(1), startTimeUnixNano: SPAN_START, attributes: { 'customer.id': 'a' } },
  ]);
  expect((await postJson(`${c?.url}/v1/traces`, spans)).status).toBe(200);
  const events = { events: [{ name: 'usage', external_customer_id: 'a', metadata: { tokens: 3 } }] };
  expect(await postJson(`${c?.url}/v1/events/ingest`, events)).toMatchObject({ status: 200, body: { inserted: 1 } });
  expect((await fetch(`${c?.url}/v1/traces/${traceIdOf(n)}`)).status).toBe(200);
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${c?.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

describe('meter definitions', () => {
  it.each([
    ['a property with an empty part', { func: 'sum', property: 'a..b' }, {}, ['body', 'aggregation', 'property']],
    ['a property ending in a dot', { func: 'max', property: 'tokens.' }, {}, ['body', 'aggregation', 'property']],
    [
      'a filter key with an empty part',
      { func: 'count' },
      { attributes: { 'x..y': '1' } },
      ['body', 'filter', 'attributes', 'x..y'],
    ],
  ])('refuses %s with 422, and writes go on', async (_what, aggregation, filter, loc) => {
    c = await startTestCollector();
    const res = await postJson(`${c.url}/v1/meters`, { name: 'm', aggregation, filter });
    expect(res.status).toBe(422);
    expect((res.body.detail as Array<{ loc: unknown[] }>).map((d) => d.loc)).toEqual([loc]);
    expect((await (await fetch(`${c.url}/v1/meters`)).json()) as unknown).toEqual({ items: [] });
    await expectWritesWork(1);
  });

  it('refuses a long key in linear time (no backtracking)', async () => {
    c = await startTestCollector();
    const property = `${'a.'.repeat(120)}.`;
    const res = await postJson(`${c.url}/v1/meters`, { name: 'm', aggregation: { func: 'sum', property } });
    expect(res.status).toBe(422);
  });

  it('disables, on open, a broken meter stored by an earlier version; writes go on', async () => {
    c = await startTestCollector();
    const created = await postJson(`${c.url}/v1/meters`, {
      name: 'tokens',
      aggregation: { func: 'sum', property: 'tokens' },
    });
    expect(created.status).toBe(201);
    const id = String(created.body.id);
    const dbPath = c.dbPath;
    await c.close(false);
    // What an earlier version accepted: a property the engine cannot read.
    const instance = await DuckDBInstance.create(dbPath);
    const conn = await instance.connect();
    await conn.run(`UPDATE meters SET property = 'to..kens' WHERE id = ?`, [id]);
    conn.closeSync();
    instance.closeSync();

    c = await startTestCollector({ dbPath });
    await expectWritesWork(2);
    const meter = (await (await fetch(`${c.url}/v1/meters/${id}`)).json()) as Record<string, unknown>;
    expect(meter.disabled_reason).toMatch(/could not evaluate this meter/);
    expect(await metric('costtrace_meters_disabled_total')).toBe(1);
  });

  it('disables a meter the engine refuses on a write, and stores the write', async () => {
    c = await startTestCollector();
    const created = await postJson(`${c.url}/v1/meters`, { name: 'n', aggregation: { func: 'count' } });
    const id = String(created.body.id);
    // A definition that got past every check (as if validation had a gap): the writer must not stop on it.
    const meters = await c.collector.queue.exclusive(async (_conn, _customers, projections) =>
      projections.all.find((p): p is MeterProjection => p instanceof MeterProjection),
    );
    if (!meters) throw new Error('the writer has no meter projection');
    meters.set(meters.meters.map((m): Meter => ({ ...m, func: 'sum', property: 'x..y' })));
    await expectWritesWork(3);
    const meter = (await (await fetch(`${c.url}/v1/meters/${id}`)).json()) as Record<string, unknown>;
    expect(meter.disabled_reason).toMatch(/could not evaluate this meter/);
    expect(meters.meters).toEqual([]);
    expect(await metric('costtrace_meters_disabled_total')).toBe(1);
    expect((await fetch(`${c.url}/readyz`)).status).toBe(200);
  });
});
