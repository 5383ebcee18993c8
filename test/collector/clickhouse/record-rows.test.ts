/**
 * Spans as the ClickHouse store writes them: the same request decoded and priced by the collector's own pipeline is
 * stored by the DuckDB store (over OTLP/JSON) and written as ClickHouse rows (on clickhouse:dev); every field read
 * back from ClickHouse equals the DuckDB row's. Re-sends are found by identity, a batch sent again is dropped by its
 * deduplication token, and a duplicate that slips through collapses under FINAL.
 */
import { describe, expect, it } from 'vitest';
import { identityKey, insertRecordRows, spanRow, storedSpanKeys } from '../../../collector/clickhouse/record-rows.ts';
import { MAX_TIME_MICROS, microsOfDateTime64 } from '../../../collector/clickhouse/values.ts';
import { bothStores, storeInBoth } from '../../helpers/clickhouse.ts';
import type { SpanSpec } from '../../helpers/otlp.ts';

const p = { database: 'ct_rows' };

const START_NS = 1_735_689_600_000_000_000n; // 2025-01-01T00:00:00Z
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const SPANS: SpanSpec[] = [
  {
    traceId: hex(1, 32),
    spanId: hex(1, 16),
    name: 'POST /answer — café ☕',
    startTimeUnixNano: String(START_NS + 123_456_789n),
    endTimeUnixNano: String(START_NS + 2_000_000_000n),
    attributes: { 'customer.id': 'acme', '_cost.amount': '1234567890123.123456789012', '_revenue.amount': '0.5' },
  },
  {
    traceId: hex(2, 32),
    spanId: hex(2, 16),
    name: 'chat gpt-4o-mini',
    startTimeUnixNano: String(START_NS + 86_400_000_000_001n),
    endTimeUnixNano: String(START_NS + 86_401_000_000_000n),
    attributes: {
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 1200,
      'gen_ai.usage.output_tokens': 300,
    },
  },
  {
    traceId: hex(3, 32),
    spanId: hex(3, 16),
    name: 'SELECT orders',
    startTimeUnixNano: String(START_NS + 3n),
    endTimeUnixNano: String(START_NS + 4n),
    attributes: { 'db.system': 'postgresql', '_cost.amount': '0.000000000001' },
  },
];

const chRows = (query: string) => both.ch.rows(query);

const both = bothStores('chrows', p);

describe('ClickHouse record rows', () => {
  it('hold every field the DuckDB store keeps for the same spans, exactly', async () => {
    // The same request through the collector's own decode and pricing, stored in both.
    await storeInBoth(
      both.duck,
      both.client,
      p,
      SPANS,
      { 'service.name': 'api', 'customer.id': 'tenant-r' },
      1_735_700_000_123_456n,
    );
    const FIELDS = `source, trace_id, span_id, parent_span_id, name, kind, service_name, scope_name,
      start_time_unix_nano::VARCHAR AS start_ns, end_time_unix_nano::VARCHAR AS end_ns, status_code, customer_own,
      resource_customer, chain_customer, attribution_pending, customer_id, cost_amount::VARCHAR AS cost,
      cost_source, revenue_amount::VARCHAR AS revenue, attributes, llm_vendor, llm_model, root_key, root_pending,
      price_version`;
    const fromDuck = await both.duck.collector.db.read(async (conn) =>
      (await conn.runAndReadAll(`SELECT ${FIELDS}, epoch_us(ts)::VARCHAR AS ts_us FROM records ORDER BY span_id`))
        .getRowObjectsJson()
        .map((r) => ({ ...r, cost: normal(r.cost), revenue: normal(r.revenue) })),
    );
    const fromClickHouse = (
      await chRows(
        `SELECT ${FIELDS.replace(/::VARCHAR/g, '')}, toString(ts) AS ts_text FROM ct_rows.records FINAL ORDER BY span_id`,
      )
    ).map(({ ts_text, ...r }) => ({
      ...r,
      start_ns: String(r.start_ns),
      end_ns: String(r.end_ns),
      cost: normal(r.cost),
      revenue: normal(r.revenue),
      ts_us: microsOfDateTime64(String(ts_text)).toString(),
    }));
    expect(fromDuck).toHaveLength(3);
    expect(fromClickHouse).toEqual(fromDuck);
    // The rollup the view keeps equals the one the DuckDB writer keeps for the same spans.
    const duckRollup = await both.duck.collector.db.read(async (conn) =>
      (
        await conn.runAndReadAll(`SELECT coalesce(c.external_id, '') AS customer_id,
             strftime(r.slot, '%Y-%m-%d %H:%M:%S') AS slot, r.revenue::VARCHAR AS revenue, r.costs::VARCHAR AS costs,
             r.records::VARCHAR AS records
           FROM rollup_15m r LEFT JOIN customers c USING (customer_key) ORDER BY 1, 2`)
      )
        .getRowObjectsJson()
        .map((r) => ({ ...r, revenue: normal(r.revenue), costs: normal(r.costs) })),
    );
    const chRollup = (
      await chRows(`SELECT customer_id, toString(toDateTime(slot)) AS slot, toString(sum(revenue)) AS revenue,
          toString(sum(costs)) AS costs, toString(sum(records)) AS records
        FROM ct_rows.rollup_15m GROUP BY customer_id, slot ORDER BY customer_id, slot`)
    ).map((r) => ({ ...r, revenue: normal(r.revenue), costs: normal(r.costs) }));
    expect(duckRollup.length).toBeGreaterThan(1);
    expect(chRollup).toEqual(duckRollup);
  });

  it('finds stored spans by identity, drops a batch sent again, and collapses a duplicate under FINAL', async () => {
    const at = (n: bigint) => START_NS * 0n + 1_736_000_000_000_000n + n; // µs, 2025-01-04
    const row = (i: number, tsMicros: bigint) =>
      spanRow(
        {
          record: {
            traceId: hex(100 + i, 32),
            spanId: hex(i, 16),
            parentSpanId: null,
            name: `op ${i}`,
            kind: 1,
            serviceName: 'api',
            scopeName: 'test',
            startTimeUnixNano: tsMicros * 1000n,
            endTimeUnixNano: tsMicros * 1000n + 1n,
            statusCode: 0,
            customerOwn: 'acme',
            resourceCustomer: null,
            costPicocents: 1_000_000_000_000n * BigInt(i),
            costSource: 'provided',
            priceVersion: null,
            revenuePicocents: null,
            attributesJson: '{}',
            llmVendor: null,
            llmModel: null,
            llmCall: null,
          },
          attribution: { chainCustomer: 'acme', pending: false },
        },
        1_736_000_000_000_000n,
      );
    const batch = [row(1, at(1n)), row(2, at(86_400_000_000n)), row(3, at(2n))];
    await insertRecordRows(both.client, p, batch);
    await insertRecordRows(both.client, p, batch); // a retry after a lost answer: the same token
    const count = async (final: boolean) =>
      Number(
        (
          await chRows(
            `SELECT count() AS n FROM ct_rows.records ${final ? 'FINAL' : ''} WHERE trace_id >= '${hex(100, 32)}'`,
          )
        )[0]?.n,
      );
    expect(await count(false)).toBe(3);
    const stored = await storedSpanKeys(both.client, p, [
      { traceId: hex(101, 32), spanId: hex(1, 16), tsMicros: at(1n) },
      { traceId: hex(102, 32), spanId: hex(2, 16), tsMicros: at(86_400_000_000n) },
      { traceId: hex(102, 32), spanId: hex(2, 16), tsMicros: at(86_400_000_001n) }, // same ids, another start
      { traceId: hex(104, 32), spanId: hex(4, 16), tsMicros: at(3n) }, // new
    ]);
    expect([...stored].sort()).toEqual(
      [
        identityKey(hex(101, 32), hex(1, 16), batch[0]?.ts as string),
        identityKey(hex(102, 32), hex(2, 16), batch[1]?.ts as string),
      ].sort(),
    );
    // A re-sent span inside another batch is a new insert: the writer must leave it out (the look-up above); if one
    // slips through, FINAL still counts it once.
    await insertRecordRows(both.client, p, [batch[2] as (typeof batch)[number], row(4, at(3n))]);
    expect(await count(false)).toBe(5);
    expect(await count(true)).toBe(4);
    // The last instant the store holds: found again by its identity, and in its own day and slot (not wrapped).
    const last = row(9, MAX_TIME_MICROS);
    await insertRecordRows(both.client, p, [last]);
    const found = await storedSpanKeys(both.client, p, [
      { traceId: hex(109, 32), spanId: hex(9, 16), tsMicros: MAX_TIME_MICROS },
    ]);
    expect([...found]).toEqual([identityKey(hex(109, 32), hex(9, 16), last.ts)]);
    expect(
      await chRows(`SELECT toString(toDate(ts)) AS day, toString(toStartOfInterval(ts, INTERVAL 15 MINUTE)) AS slot
        FROM ct_rows.records WHERE trace_id = '${hex(109, 32)}'`),
    ).toEqual([{ day: '2106-02-07', slot: '2106-02-07 06:15:00' }]);
    const [slotRow] = await chRows(
      "SELECT count() AS n FROM ct_rows.rollup_15m WHERE slot = toDateTime64('2106-02-07 06:15:00', 6, 'UTC')",
    );
    expect(slotRow).toEqual({ n: '1' });
  });
});

/** Decimal text without trailing zeros (DuckDB prints 12 decimals, ClickHouse the shortest exact form). */
function normal(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const s = String(v);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}
