/**
 * Customers on ClickHouse are the DuckDB store's customers: the same sightings (spans naming customers, earlier ones
 * later) and the same upserts through the API (with and without created_at, name and email kept unless given anew)
 * give the same customer list — searched, paged — and the same single customers, after a restart of the registry too.
 */
import { describe, expect, it } from 'vitest';
import {
  ClickHouseCustomers,
  listClickHouseCustomers,
  readClickHouseCustomer,
} from '../../../collector/clickhouse/customers.ts';
import { bothStores } from '../../helpers/clickhouse.ts';
import { jsonRequest, type SpanSpec } from '../../helpers/otlp.ts';

const p = { database: 'ct_customers' };
const DAY_US = 86_400_000_000n;
const T0_US = 1_735_689_600_000_000n; // 2025-01-01
const NOW_US = T0_US + 400n * DAY_US;

const both = bothStores('chcustomers', p, { nowMicros: () => NOW_US });

type Step =
  | { spans: Array<[customer: string, day: bigint]> }
  | { upsert: { external_id: string; name?: string; email?: string; created_at?: string } };

const STEPS: Step[] = [
  {
    spans: [
      ['acme', 5n],
      ['globex', 3n],
      ['acme', 4n],
    ],
  },
  { upsert: { external_id: 'acme', name: 'Acme Inc' } },
  {
    spans: [
      ['acme', 1n],
      ['globex', 1n],
      ['initech', 10n],
    ],
  }, // acme upserted: stays; globex moves earlier
  { upsert: { external_id: 'globex', email: 'ops@globex.test', created_at: '2024-06-01T00:00:00Z' } },
  { upsert: { external_id: 'hooli', name: 'Hooli' } }, // known only through the API
  { upsert: { external_id: 'acme', email: 'billing@acme.test' } }, // the name stays
  {
    spans: [
      ['globex', 0n],
      ['umbrella', 2n],
    ],
  }, // globex upserted: stays
  {
    spans: [
      ['umbrella', 1n],
      ['initech', 20n],
    ],
  }, // umbrella (never upserted) moves earlier; initech stays
];

describe('customers on ClickHouse equal DuckDB', () => {
  it('lists, searches, pages and reads the same customers after the same sightings and upserts', async () => {
    let registry = await ClickHouseCustomers.load(both.client, p);
    let n = 0;
    for (const step of STEPS) {
      if ('spans' in step) {
        const spans: SpanSpec[] = step.spans.map(([customer, day]) => {
          n++;
          const ns = (T0_US + day * DAY_US + BigInt(n)) * 1000n;
          return {
            traceId: n.toString(16).padStart(32, '0'),
            spanId: n.toString(16).padStart(16, '0'),
            startTimeUnixNano: String(ns),
            endTimeUnixNano: String(ns + 1n),
            attributes: { 'customer.id': customer, '_cost.amount': '1' },
          };
        });
        const res = await fetch(`${both.duck.url}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(jsonRequest(spans)),
        });
        expect(res.status).toBe(200);
        // The earliest start per customer in the batch, as the writer sights them.
        const sightings = new Map<string, bigint>();
        step.spans.forEach(([customer], i) => {
          const us = BigInt(spans[i]?.startTimeUnixNano ?? 0) / 1000n;
          const prev = sightings.get(customer);
          if (prev === undefined || us < prev) sightings.set(customer, us);
        });
        await registry.record(sightings, NOW_US);
      } else {
        const u = step.upsert;
        const res = await fetch(`${both.duck.url}/v1/customers`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(u),
        });
        expect(res.status).toBe(200);
        await registry.upsert(
          {
            externalId: u.external_id,
            name: u.name ?? null,
            email: u.email ?? null,
            createdAtMicros: u.created_at === undefined ? null : BigInt(Date.parse(u.created_at)) * 1000n,
          },
          NOW_US,
        );
      }
      // A restart in the middle: the registry reloads what ClickHouse holds.
      if (step === STEPS[5]) registry = await ClickHouseCustomers.load(both.client, p);
    }
    const queries = [
      { limit: 100, offset: 0 },
      { limit: 2, offset: 1 },
      { limit: 10, offset: 9 },
      { limit: 100, offset: 0, query: 'ACME' },
      { limit: 100, offset: 0, query: 'ops@' },
      { limit: 100, offset: 0, query: 'nobody' },
    ];
    for (const q of queries) {
      const search = new URLSearchParams({ limit: String(q.limit), offset: String(q.offset) });
      if (q.query) search.set('query', q.query);
      const want = (await (await fetch(`${both.duck.url}/v1/customers?${search}`)).json()) as {
        items: unknown[];
        pagination: { total_count: number };
      };
      const got = await listClickHouseCustomers(both.client, p, q);
      expect({ q, got }).toEqual({ q, got: { items: want.items, total: want.pagination.total_count } });
    }
    // By created_at: globex's own (2024-06-01), umbrella's earliest sighting (Jan 2), acme's sighting before its upsert (Jan 5;
    // the later Jan 2 span does not move an upserted customer), initech's (Jan 11), hooli's upsert (now).
    const all = await listClickHouseCustomers(both.client, p, { limit: 100, offset: 0 });
    expect(all.items.map((c) => c.external_id)).toEqual(['globex', 'umbrella', 'acme', 'initech', 'hooli']);
    for (const id of ['acme', 'globex', 'hooli', 'initech', 'umbrella', 'nobody']) {
      const res = await fetch(`${both.duck.url}/v1/customers/${id}`);
      const want = res.status === 200 ? await res.json() : null;
      expect({ id, got: await readClickHouseCustomer(both.client, p, id) }).toEqual({ id, got: want });
    }
  });
});
