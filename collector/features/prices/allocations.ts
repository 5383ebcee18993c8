/**
 * Fixed-cost allocation, the stored part (docs/contract.md §8; the arithmetic is features/prices/allocate.ts). One UTC day is
 * read and its allocation records replaced in one transaction on the writer.
 *
 * An allocation is a record of its own: `source = 'allocation'`, `trace_id = 'fixed'` (no span has it: span
 * trace ids are 32 hex digits; events use ''), `span_id = <YYYY-MM-DD>:<bill>:<customer>` (parts URI-encoded,
 * customer empty when unattributed), `name` and `llm_vendor` = the bill's name (cost drivers by vendor show the
 * bill), `ts` = the day's start, `cost_source = 'allocated'`, `price_version` = the book's, and `fixed.*`
 * attributes saying how it was split. In the rollup it adds cost only: an allocation makes nobody active.
 * `allocated_days` remembers which days were allocated (and with which book version).
 */
import { type DuckDBConnection, timestampValue } from '@duckdb/node-api';
import { formatPicocents } from '../../../src/money.ts';
import { appendRows } from '../../db/appender.ts';
import { decimal } from '../../db/money-values.ts';
import { appendRecord, type RecordRow } from '../../db/record-row.ts';
import { big, col, num, one, rows } from '../../db/sql.ts';
import type { Projections, WriteTx } from '../../writer/projection.ts';
import type { AllocationPart, DayUsage } from './allocate.ts';
import type { FixedBill } from './book.ts';
import { attributesMatch } from './price-span.ts';

export const ALLOCATION_TRACE_ID = 'fixed';

const DAY = `ts >= make_timestamp(?::BIGINT) AND ts < make_timestamp(?::BIGINT) + INTERVAL 1 DAY`;

export interface StoredDayUsage extends DayUsage {
  /** customer id → customer_key, for every active customer. */
  readonly keys: ReadonlyMap<string, number>;
}

/** The day's customers and, for each proportional bill given, its measure per customer. */
export async function readDayUsage(
  conn: DuckDBConnection,
  dayMicros: bigint,
  bills: readonly FixedBill[],
): Promise<StoredDayUsage> {
  const day = [dayMicros, dayMicros];
  const active = await rows(
    conn,
    `SELECT customer_id, any_value(customer_key) AS customer_key FROM records
     WHERE source <> 'allocation' AND customer_id IS NOT NULL AND ${DAY} GROUP BY customer_id ORDER BY customer_id`,
    day,
    (r) => [String(col(r, 'customer_id')), num(r, 'customer_key')] as const,
  );
  const keys = new Map(active);
  const measures = new Map<FixedBill, Map<string, bigint>>();
  for (const bill of bills) {
    if (bill.method === 'proportional' && bill.measure !== null) {
      measures.set(bill, await readMeasure(conn, dayMicros, bill.measure));
    }
  }
  return { active: [...keys.keys()], keys, measure: (bill) => measures.get(bill) ?? new Map() };
}

/**
 * Per customer: spans, their summed duration in nanoseconds (proportional to milliseconds, and exact) or their
 * summed cost in picocents — over the day's attributed spans matching the filter (the price book's matcher).
 */
async function readMeasure(
  conn: DuckDBConnection,
  dayMicros: bigint,
  measure: NonNullable<FixedBill['measure']>,
): Promise<Map<string, bigint>> {
  const value =
    measure.by === 'count'
      ? '1::HUGEINT'
      : measure.by === 'duration_ms'
        ? '(greatest(end_time_unix_nano, start_time_unix_nano) - start_time_unix_nano)::HUGEINT'
        : 'coalesce(cost_amount, 0)';
  const where = `source = 'span' AND customer_id IS NOT NULL AND ${DAY}`;
  const toBig = (v: unknown) => (measure.by === 'cost' ? decimal(v) : BigInt(String(v)));
  const out = new Map<string, bigint>();
  if (measure.spans.length === 0) {
    const sums = await rows(
      conn,
      `SELECT customer_id, sum(${value})::VARCHAR AS measure FROM records WHERE ${where} GROUP BY 1`,
      [dayMicros, dayMicros],
      (r) => [String(col(r, 'customer_id')), toBig(col(r, 'measure'))] as const,
    );
    for (const [id, v] of sums) out.set(id, v);
    return out;
  }
  // Narrowed in SQL to spans naming every filter key, then matched exactly like span rules.
  const keys = measure.spans.map(([k]) => JSON.stringify(k));
  const spans = await rows(
    conn,
    `SELECT customer_id, attributes, ${value}::VARCHAR AS measure FROM records
     WHERE ${where} ${keys.map(() => 'AND contains(attributes, ?)').join(' ')}`,
    [dayMicros, dayMicros, ...keys],
    (r) => ({ id: String(col(r, 'customer_id')), attributes: col(r, 'attributes'), measure: col(r, 'measure') }),
  );
  for (const r of spans) {
    const attributes = JSON.parse(String(r.attributes ?? '{}')) as Record<string, unknown>;
    if (!attributesMatch(measure.spans, (k) => attributes[k])) continue;
    out.set(r.id, (out.get(r.id) ?? 0n) + toBig(r.measure));
  }
  return out;
}

export interface BillDay {
  readonly bill: FixedBill;
  readonly sharePicocents: bigint;
  readonly parts: readonly AllocationPart[];
}

export interface AllocationWrite {
  /** Allocation records added, removed or changed. */
  readonly changed: number;
  readonly deltaPicocents: bigint;
}

function allocationId(dayIso: string, bill: string, customerId: string | null): string {
  return `${dayIso}:${encodeURIComponent(bill)}:${encodeURIComponent(customerId ?? '')}`;
}

/**
 * Makes the day's allocation records exactly `billDays` (call inside the writer's transaction): nothing is
 * written when they are already so; otherwise the day's records are replaced and the rollup moves by the
 * difference. The day is marked allocated with `version`.
 */
export async function writeDayAllocations(
  tx: WriteTx,
  /** What the day's records move (the rollup; the Polar outbox re-sends a re-allocation under the same ids). */
  projections: Projections,
  dayMicros: bigint,
  billDays: readonly BillDay[],
  keys: ReadonlyMap<string, number>,
  version: number | null,
): Promise<AllocationWrite> {
  const { conn, nowMicros } = tx;
  const dayIso = new Date(Number(dayMicros / 1000n)).toISOString().slice(0, 10);
  const dayNs = dayMicros * 1000n;
  const wanted = new Map<string, RecordRow>();
  for (const { bill, sharePicocents, parts } of billDays) {
    for (const p of parts) {
      const attributes: Record<string, string> = {
        'fixed.bill': bill.name,
        'fixed.method': bill.method,
        'fixed.day_share_cents': formatPicocents(sharePicocents),
        'fixed.weight': bill.method === 'weights' ? formatPicocents(p.weight) : p.weight.toString(),
      };
      if (bill.measure !== null) attributes['fixed.measure'] = bill.measure.by;
      const spanId = allocationId(dayIso, bill.name, p.customerId);
      wanted.set(spanId, {
        source: 'allocation',
        traceId: ALLOCATION_TRACE_ID,
        spanId,
        parentSpanId: null,
        name: bill.name,
        kind: 0,
        serviceName: null,
        scopeName: 'costtrace.allocation',
        startTimeUnixNano: dayNs,
        endTimeUnixNano: dayNs,
        statusCode: 0,
        customerOwn: p.customerId,
        resourceCustomer: null,
        chainCustomer: null,
        attributionPending: false,
        customerId: p.customerId,
        customerKey: p.customerId === null ? undefined : keys.get(p.customerId),
        costPicocents: p.picocents,
        costSource: 'allocated',
        priceVersion: version,
        revenuePicocents: null,
        attributesJson: JSON.stringify(attributes),
        llmVendor: bill.name,
        llmModel: null,
        rootKey: null,
        rootPending: false,
      });
    }
  }
  const thisDay = `source = 'allocation' AND ts = make_timestamp(?::BIGINT)`;
  const stored = await rows(
    conn,
    `SELECT span_id, cost_amount::VARCHAR AS cost, price_version, attributes FROM records WHERE ${thisDay}`,
    [dayMicros],
    (r) => ({
      id: String(col(r, 'span_id')),
      cost: decimal(col(r, 'cost')),
      priceVersion: col(r, 'price_version') === null ? null : num(r, 'price_version'),
      attributesJson: String(col(r, 'attributes')),
    }),
  );
  let changed = 0;
  let delta = 0n;
  for (const r of stored) {
    const w = wanted.get(r.id);
    const cost = r.cost;
    delta -= cost;
    const same =
      w !== undefined &&
      w.costPicocents === cost &&
      w.priceVersion === r.priceVersion &&
      w.attributesJson === r.attributesJson;
    if (!same) changed++;
  }
  const storedIds = new Set(stored.map((r) => r.id));
  for (const [id, w] of wanted) {
    delta += w.costPicocents ?? 0n;
    if (!storedIds.has(id)) changed++;
  }
  if (changed > 0) {
    const day = { relation: `(SELECT * FROM records WHERE ${thisDay})`, params: [dayMicros] };
    await projections.recordsRemoved(tx, day);
    await conn.run(`DELETE FROM records WHERE ${thisDay}`, [dayMicros]);
    const ingestedAt = timestampValue(nowMicros);
    await appendRows(conn, 'records', (app) => {
      for (const row of wanted.values()) appendRecord(app, row, ingestedAt);
    });
    await projections.recordsAdded(tx, day);
    await projections.finish(tx);
  }
  await conn.run(
    `INSERT OR REPLACE INTO allocated_days VALUES (make_timestamp(?::BIGINT)::DATE, ?, make_timestamp(?::BIGINT))`,
    [dayMicros, version, nowMicros],
  );
  return { changed, deltaPicocents: delta };
}

/** Days (UTC, µs) in [fromMicros, toMicros) already allocated. */
export async function allocatedDays(
  conn: DuckDBConnection,
  fromMicros: bigint,
  toMicros: bigint,
): Promise<Set<bigint>> {
  const days = await rows(
    conn,
    `SELECT epoch_us(day::TIMESTAMP) AS day_us FROM allocated_days
     WHERE day >= make_timestamp(?::BIGINT)::DATE AND day < make_timestamp(?::BIGINT)::DATE`,
    [fromMicros, toMicros],
    (r) => big(r, 'day_us'),
  );
  return new Set(days);
}

/** The start of the first UTC day with any record (from the rollup), or null when there is none. */
export async function firstRecordDay(conn: DuckDBConnection): Promise<bigint | null> {
  const r = await one(
    conn,
    `SELECT epoch_us(min(slot)::DATE::TIMESTAMP) AS day_us FROM rollup_15m WHERE records > 0`,
    [],
    (row) => col(row, 'day_us'),
  );
  return r === null || r === undefined ? null : BigInt(r as bigint);
}
