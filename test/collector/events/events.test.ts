import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startTestCollector, type TestCollector } from '../../helpers/collector.ts';

const NOW = Date.UTC(2026, 0, 15, 12) * 1000;
let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector({ nowMicros: () => BigInt(NOW) });
});
afterAll(async () => {
  await c.close();
});

const ingest = (events: unknown[]) => postJson(`${c.url}/v1/events/ingest`, { events });

async function rows(sql: string, params: unknown[] = []) {
  return c.collector.db.read(async (conn) => (await conn.runAndReadAll(sql, params as never)).getRows());
}

const ev = (over: Record<string, unknown> = {}) => ({
  name: 'llm.call',
  external_customer_id: 'cust-1',
  timestamp: '2026-01-10T10:00:00Z',
  ...over,
});

describe('POST /v1/events/ingest: validation (all or nothing)', () => {
  it.each([
    [{ name: 'x'.repeat(129) }, ['body', 'events', 0, 'name']],
    [{ name: undefined }, ['body', 'events', 0, 'name']],
    [{ external_customer_id: undefined }, ['body', 'events', 0, 'external_customer_id']],
    [{ timestamp: '2026-01-16T00:00:00Z' }, ['body', 'events', 0, 'timestamp']],
    [{ timestamp: 'yesterday' }, ['body', 'events', 0, 'timestamp']],
    [{ timestamp: '2026-01-10T10:00:00' }, ['body', 'events', 0, 'timestamp']],
    [{ metadata: { _cost: { amount: 'abc', currency: 'usd' } } }, ['body', 'events', 0, 'metadata', '_cost', 'amount']],
    [{ metadata: { _cost: { amount: -1, currency: 'usd' } } }, ['body', 'events', 0, 'metadata', '_cost', 'amount']],
    [{ metadata: { _cost: { amount: 1, currency: 'eur' } } }, ['body', 'events', 0, 'metadata', '_cost', 'currency']],
    [{ metadata: { _cost: { amount: 1, currency: 'xusdx' } } }, ['body', 'events', 0, 'metadata', '_cost', 'currency']],
    [
      { metadata: { _cost: { amount: '0.0000000000001', currency: 'usd' } } },
      ['body', 'events', 0, 'metadata', '_cost', 'amount'],
    ],
    [
      { metadata: { _revenue: { amount: 'NaN', currency: 'usd' } } },
      ['body', 'events', 0, 'metadata', '_revenue', 'amount'],
    ],
    [
      { metadata: { _llm: { vendor: 'openai', model: 'gpt-4o', input_tokens: 1, output_tokens: 2 } } },
      ['body', 'events', 0, 'metadata', '_llm', 'total_tokens'],
    ],
    [
      {
        metadata: { _llm: { vendor: 'openai', model: 'gpt-4o', input_tokens: -1, output_tokens: 2, total_tokens: 1 } },
      },
      ['body', 'events', 0, 'metadata', '_llm', 'input_tokens'],
    ],
    [{ metadata: { note: 'x'.repeat(501) } }, ['body', 'events', 0, 'metadata', 'note']],
    [{ metadata: { nested: { a: 1 } } }, ['body', 'events', 0, 'metadata', 'nested']],
    [{ metadata: 'nope' }, ['body', 'events', 0, 'metadata']],
  ])('422 for %j at its location, nothing stored', async (over, loc) => {
    const before = await rows(`SELECT count(*) FROM records WHERE source = 'event'`);
    const res = await ingest([ev({ external_id: 'ok-neighbour' }), ev(over)]);
    expect(res.status).toBe(422);
    expect(res.body.error).toBe('validation_error');
    const detail = res.body.detail as Array<{ loc: unknown[] }>;
    expect(detail.map((d) => d.loc)).toContainEqual(loc.map((x) => (x === 0 ? 1 : x)));
    expect(await rows(`SELECT count(*) FROM records WHERE source = 'event'`)).toEqual(before);
  });

  it('422 when the body is not {events: [...]}', async () => {
    const res = await fetch(`${c.url}/v1/events/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ evts: [] }),
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { detail: unknown[] }).detail).toEqual([
      { loc: ['body', 'events'], msg: 'must be a list of events', type: 'type_error' },
    ]);
  });
});

describe('POST /v1/events/ingest: storage', () => {
  it('dedupes on external_id within a batch and across batches', async () => {
    const a = await ingest([ev({ external_id: 'dup-1' }), ev({ external_id: 'dup-1' }), ev({ external_id: 'dup-2' })]);
    expect(a).toEqual({ status: 200, body: { inserted: 2, duplicates: 1 } });
    const b = await ingest([ev({ external_id: 'dup-1' }), ev({ external_id: 'dup-3' }), ev()]);
    expect(b).toEqual({ status: 200, body: { inserted: 2, duplicates: 1 } });
  });

  it('keeps large and tiny amounts exact: no per-event ceiling', async () => {
    await ingest([
      ev({
        external_id: 'big',
        external_customer_id: 'exact-ev',
        metadata: { _cost: { amount: '123456789012.5', currency: 'USD' } },
      }),
      ev({
        external_id: 'tiny',
        external_customer_id: 'exact-ev',
        metadata: { _cost: { amount: 0.000001, currency: 'usd' } },
      }),
    ]);
    expect(await rows(`SELECT sum(cost_amount)::VARCHAR FROM records WHERE customer_id = 'exact-ev'`)).toEqual([
      ['123456789012.500001000000'],
    ]);
  });

  it('resolves parent trees in any arrival order, and a cycle stays pending', async () => {
    await ingest([ev({ external_id: 't-leaf', parent_id: 't-mid', name: 'leaf' })]);
    await ingest([ev({ external_id: 't-mid', parent_id: 't-root', name: 'mid' })]);
    let got = await rows(
      `SELECT span_id, root_key, root_pending FROM records WHERE span_id LIKE 't-%' ORDER BY span_id`,
    );
    expect(got).toEqual([
      ['t-leaf', 't-mid', true],
      ['t-mid', 't-mid', true],
    ]);
    await ingest([ev({ external_id: 't-root', name: 'root' })]);
    got = await rows(`SELECT span_id, root_key, root_pending FROM records WHERE span_id LIKE 't-%' ORDER BY span_id`);
    expect(got).toEqual([
      ['t-leaf', 't-root', false],
      ['t-mid', 't-root', false],
      ['t-root', 't-root', false],
    ]);
    await ingest([ev({ external_id: 'cyc-a', parent_id: 'cyc-b' })]);
    await ingest([ev({ external_id: 'cyc-b', parent_id: 'cyc-a' })]);
    expect(await rows(`SELECT span_id, root_pending FROM records WHERE span_id LIKE 'cyc-%' ORDER BY 1`)).toEqual([
      ['cyc-a', true],
      ['cyc-b', true],
    ]);
  });

  it('creates customers on first sighting at the earliest timestamp, one identity for spans and events', async () => {
    await ingest([ev({ external_customer_id: 'seen', timestamp: '2026-01-05T00:00:00Z' })]);
    await ingest([ev({ external_customer_id: 'seen', timestamp: '2026-01-03T00:00:00+05:30' })]);
    const r = await fetch(`${c.url}/v1/customers/seen`);
    expect(await r.json()).toEqual({
      external_id: 'seen',
      name: null,
      email: null,
      created_at: '2026-01-02T18:30:00.000000Z',
    });
    const up = await fetch(`${c.url}/v1/customers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ external_id: 'seen', name: 'Seen Inc', created_at: '2025-12-01T00:00:00Z' }),
    });
    expect(await up.json()).toEqual({
      external_id: 'seen',
      name: 'Seen Inc',
      email: null,
      created_at: '2025-12-01T00:00:00.000000Z',
    });
    // an earlier sighting no longer moves an explicitly set created_at
    await ingest([ev({ external_customer_id: 'seen', timestamp: '2025-11-01T00:00:00Z' })]);
    expect(((await (await fetch(`${c.url}/v1/customers/seen`)).json()) as { created_at: string }).created_at).toBe(
      '2025-12-01T00:00:00.000000Z',
    );
    expect((await fetch(`${c.url}/v1/customers/nobody`)).status).toBe(404);
  });
});

describe('self-observability', () => {
  it('counts inserted, duplicate and rejected events in /metrics', async () => {
    const counters = async () => {
      const text = await (await fetch(`${c.url}/metrics`)).text();
      const value = (outcome: string) =>
        Number(new RegExp(`costtrace_events_total\\{outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
      return { inserted: value('inserted'), duplicate: value('duplicate'), rejected: value('rejected') };
    };
    const before = await counters();
    const one = ev({ external_id: 'counted-once', external_customer_id: 'counter' });
    expect((await ingest([one])).status).toBe(200);
    expect((await ingest([one])).status).toBe(200);
    expect((await ingest([ev({ name: '' }), ev({ name: '' })])).status).toBe(422);
    const after = await counters();
    expect({
      inserted: after.inserted - before.inserted,
      duplicate: after.duplicate - before.duplicate,
      rejected: after.rejected - before.rejected,
    }).toEqual({ inserted: 1, duplicate: 1, rejected: 2 });
  });
});
