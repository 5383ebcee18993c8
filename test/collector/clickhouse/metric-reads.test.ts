/**
 * The metrics questions on ClickHouse answer what the DuckDB store answers for the same spans: the same OTLP request
 * is stored by a DuckDB collector and written to ClickHouse (clickhouse:dev) as the ClickHouse store writes it, and
 * every period series (hour, day, week, month, year; UTC, New York across both DST changes, Kolkata's +05:30), for
 * everyone and for one customer, and the totals before a range, are equal to the picocent (spans sit on the DST
 * changes' instants too).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { customerMetrics } from '../../../collector/clickhouse/customer-metrics.ts';
import { ClickHouseCustomers } from '../../../collector/clickhouse/customers.ts';
import * as chReads from '../../../collector/clickhouse/metric-reads.ts';
import { type Interval, offsetSegments } from '../../../collector/metrics/calendar.ts';
import { CUSTOMER_SORTS, type CustomerSort } from '../../../collector/metrics/customer-sorts.ts';
import { customerMetrics as duckCustomerMetrics } from '../../../collector/reads/customer-metric-reads.ts';
import * as duckReads from '../../../collector/reads/metric-reads.ts';
import { bothStores, storeInBoth } from '../../helpers/clickhouse.ts';
import type { SpanSpec } from '../../helpers/otlp.ts';

const p = { database: 'ct_metrics' };

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const MS_2025 = Date.UTC(2025, 0, 1);
const CUSTOMERS = ['acme', 'globex', 'initech', null];

/** Spans every ~7h over 2025 (through both US DST changes), customers in turn, costs and some revenue. */
function spans(): SpanSpec[] {
  const out: SpanSpec[] = [];
  for (let i = 0; i < 1300; i++) {
    const ms = MS_2025 + i * 6.77 * 3_600_000;
    const ns = BigInt(Math.round(ms)) * 1_000_000n + BigInt(i);
    const customer = CUSTOMERS[i % CUSTOMERS.length];
    const attributes: Record<string, string> = {
      '_cost.amount': `${i % 17}.${String(i * 7919)
        .padStart(12, '0')
        .slice(-12)}`,
    };
    if (customer !== null && customer !== undefined) attributes['customer.id'] = customer;
    if (i % 9 === 0) attributes['_revenue.amount'] = `${i}.5`;
    out.push({
      traceId: hex(i + 1, 32),
      spanId: hex(i + 1, 16),
      name: 'op',
      startTimeUnixNano: String(ns),
      endTimeUnixNano: String(ns + 1000n),
      attributes,
    });
  }
  // Right at New York's DST changes (the slots an off-by-one at a segment's end would put in the wrong hour).
  for (const [j, iso] of ['2025-03-09T07:00:00Z', '2025-11-02T06:00:00Z', '2025-11-02T05:59:59Z'].entries()) {
    const ns = BigInt(Date.parse(iso)) * 1_000_000n;
    out.push({
      traceId: hex(5000 + j, 32),
      spanId: hex(5000 + j, 16),
      name: 'op',
      startTimeUnixNano: String(ns),
      endTimeUnixNano: String(ns + 1000n),
      attributes: { 'customer.id': 'acme', '_cost.amount': `100${j}.25` },
    });
  }
  return out;
}

const both = bothStores('chmetrics', p);

beforeAll(async () => {
  const records = await storeInBoth(
    both.duck,
    both.client,
    p,
    spans(),
    { 'service.name': 'api' },
    1_767_225_600_000_000n,
  );
  expect(records).toHaveLength(1303);
  // The customers the writer sights: each one's earliest start.
  const sightings = new Map<string, bigint>();
  for (const r of records) {
    const us = r.startTimeUnixNano / 1000n;
    if (r.customerOwn !== null && us < (sightings.get(r.customerOwn) ?? us + 1n)) sightings.set(r.customerOwn, us);
  }
  await (await ClickHouseCustomers.load(both.client, p)).record(sightings, 1_767_225_600_000_000n);
}, 240_000);

const WINDOWS: Array<{ interval: Interval; from: string; to: string }> = [
  { interval: 'hour', from: '2025-03-07', to: '2025-03-12' },
  { interval: 'hour', from: '2025-10-31', to: '2025-11-04' },
  { interval: 'day', from: '2025-01-01', to: '2026-01-01' },
  { interval: 'week', from: '2025-02-03', to: '2025-12-29' },
  { interval: 'month', from: '2025-01-01', to: '2026-01-01' },
  { interval: 'year', from: '2024-01-01', to: '2027-01-01' },
];

describe('metrics on ClickHouse equal DuckDB for the same spans', () => {
  it('answers every period series and the totals before the range exactly as the DuckDB store', async () => {
    let compared = 0;
    for (const tz of ['UTC', 'America/New_York', 'Asia/Kolkata']) {
      for (const w of WINDOWS) {
        const fromMs = Date.parse(`${w.from}T00:00:00Z`);
        const toMs = Date.parse(`${w.to}T00:00:00Z`);
        const segments = offsetSegments(tz, fromMs, toMs);
        for (const customer of [null, 'acme']) {
          const window = { fromMicros: BigInt(fromMs) * 1000n, toMicros: BigInt(toMs) * 1000n };
          const keys =
            customer === null
              ? null
              : await both.duck.collector.db.read((c) => duckReads.customerKeysOf(c, [customer]));
          const want = await both.duck.collector.db.read((c) =>
            duckReads.bucketSums(c, { ...window, customerKeys: keys }, w.interval, segments),
          );
          const got = await chReads.bucketSums(
            both.client,
            p,
            { ...window, customerIds: customer === null ? null : [customer] },
            w.interval,
            segments,
          );
          const sorted = (m: Map<string, unknown>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));
          expect(sorted(got), `${tz} ${w.interval} ${w.from} ${customer}`).toEqual(sorted(want));
          expect(want.size).toBeGreaterThan(0);
          const wantTotals = await both.duck.collector.db.read((c) =>
            duckReads.rangeTotals(c, { ...window, customerKeys: keys }),
          );
          const gotTotals = await chReads.rangeTotals(both.client, p, {
            ...window,
            customerIds: customer === null ? null : [customer],
          });
          expect(gotTotals, `${tz} ${w.interval} totals ${customer}`).toEqual(wantTotals);
          compared++;
        }
      }
    }
    expect(compared).toBe(36);
  }, 120_000);

  it('answers the customers question (every sort, paged, searched) exactly as the DuckDB store', async () => {
    const windows = [
      { fromMicros: BigInt(MS_2025) * 1000n, toMicros: BigInt(Date.UTC(2026, 0, 1)) * 1000n },
      { fromMicros: BigInt(Date.UTC(2025, 5, 1)) * 1000n, toMicros: BigInt(Date.UTC(2025, 6, 1)) * 1000n },
      { fromMicros: BigInt(MS_2025) * 1000n - 1000n, toMicros: BigInt(MS_2025) * 1000n + 1000n }, // before most
    ];
    const pages = [
      { limit: 100, offset: 0 },
      { limit: 2, offset: 1 },
      { limit: 5, offset: 100 },
      { limit: 100, offset: 0, query: 'AC' },
    ];
    let compared = 0;
    for (const w of windows) {
      for (const sort of Object.keys(CUSTOMER_SORTS) as CustomerSort[]) {
        for (const page of pages) {
          const q = { ...w, sort, ...page };
          const want = await both.duck.collector.db.read((c) => duckCustomerMetrics(c, q));
          const got = await customerMetrics(both.client, p, q);
          expect({ q, got }).toEqual({ q, got: want });
          compared++;
        }
      }
    }
    expect(compared).toBe(120);
  }, 120_000);
});
