/**
 * The writer's in-memory crossing check (features/budgets/budget-checks.ts) records exactly the alerts an independent model
 * says it should, with the spend at the crossing, across: windows first touched and then kept in memory, costs
 * moved away (negative deltas), batches that roll back after their rollup change (memory must not keep their
 * spend), budgets put and deleted mid-way (the `*` default included), customers created in the same transaction,
 * and the path that stages its rollup in SQL (no deltas in memory).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openDatabase } from '../../../../collector/db/database.ts';
import { decimal } from '../../../../collector/db/money-values.ts';
import { transaction } from '../../../../collector/db/transaction.ts';
import { RollupProjection } from '../../../../collector/derived/rollup.ts';
import { BudgetChecks } from '../../../../collector/features/budgets/budget-checks.ts';
import { deleteBudget, loadBudgetBook, putBudget } from '../../../../collector/features/budgets/budgets.ts';
import {
  type Budget,
  type BudgetWindowKind,
  budgetWindow,
  thresholdsReached,
} from '../../../../collector/features/budgets/windows.ts';
import { CustomerRegistry } from '../../../../collector/writer/customers.ts';
import { writeTx } from '../../../../collector/writer/projection.ts';
import { prepareWriter } from '../../../../collector/writer/span-writes.ts';
import { seededRandom } from '../../../helpers/random.ts';

/** When crossings are recorded (the writer's clock; what the rollup used before it was injected). */
const NOW_MICROS = BigInt(Date.now()) * 1000n;

const dir = mkdtempSync(join(tmpdir(), 'costtrace-budget-book-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CENT = 10n ** 10n; // picocents per cent
const HOUR = 3_600_000_000n;
const T0 = BigInt(Date.UTC(2026, 10, 29, 20)) * 1000n; // a Sunday evening: day, week and month end within 3 days

class Rollback extends Error {}

it('records the crossings an independent model expects, whatever rolls back or changes', async () => {
  const db = await openDatabase(join(dir, 'book.duckdb'));
  const conn = db.writer;
  await prepareWriter(conn);
  const registry = await CustomerRegistry.load(conn);
  // The check as the writer runs it: told by the rollup projection of each write's change.
  const checks = new BudgetChecks();
  const rollup = new RollupProjection([checks]);
  await loadBudgetBook(conn, checks);
  const random = seededRandom(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;

  // The model: committed spend per (customer, UTC window start of each kind) and the alerts it expects.
  const spend = new Map<string, bigint>();
  const rules = new Map<string, Budget>();
  const expected = new Map<string, bigint>(); // customer|window start|threshold → spend at the crossing
  const spendKey = (c: string, kind: BudgetWindowKind, ts: bigint) =>
    `${c}|${kind}|${budgetWindow(kind, ts).startMicros}`;
  const budget = (customerId: string, cents: bigint, window: BudgetWindowKind, thresholds: string[]): Budget => ({
    customerId,
    amountPicocents: cents * CENT,
    window,
    thresholds,
    webhookUrl: null,
    updatedAtMicros: T0,
  });
  const put = async (b: Budget) => {
    await putBudget(conn, checks, b);
    rules.set(b.customerId, b);
  };
  await put(budget('*', 400n, 'day', ['0.25', '0.5', '1']));
  await put(budget('c1', 1000n, 'week', ['0.25', '0.8', '1']));
  await put(budget('c2', 1500n, 'month', ['0.1', '1', '1.5']));

  const customers = ['c1', 'c2', 'c3', 'c4', 'c5'];
  for (let batch = 0; batch < 160; batch++) {
    const rows: Array<{ c: string; ts: bigint; cost: bigint }> = [];
    for (let i = 0, n = 1 + Math.floor(random() * 6); i < n; i++) {
      const cost = BigInt(Math.floor(random() * 60) - (random() < 0.2 ? 70 : 0)) * CENT;
      rows.push({ c: pick(customers), ts: T0 + BigInt(Math.floor(random() * 80)) * HOUR, cost });
    }
    const fate = random();
    const viaSql = fate > 0.85; // staged in SQL, as re-sent spans, re-pricing and allocations do
    const rollsBack = fate < 0.12;
    try {
      await transaction(conn, async (afterCommit, open) => {
        const tx = writeTx(open, conn, NOW_MICROS);
        const sightings = new Map(rows.map((r) => [r.c, r.ts]));
        const { keys, plan } = await registry.record(conn, sightings);
        afterCommit(() => registry.apply(plan));
        if (viaSql) {
          // A records-shaped relation of the rows (what the rollup reads of records), staged in SQL.
          const relation = `(${rows
            .map(
              () => `SELECT ?::INTEGER AS customer_key, make_timestamp(?::BIGINT) AS ts,
                NULL::DECIMAL(38,12) AS revenue_amount, ?::DECIMAL(38,12) AS cost_amount, 'event' AS source`,
            )
            .join(' UNION ALL ')})`;
          const params = rows.flatMap((r) => [keys.get(r.c) as number, r.ts, (Number(r.cost) / 1e12).toFixed(12)]);
          await rollup.recordsAdded(tx, { relation, params });
        } else {
          await rollup.eventsAdded(
            tx,
            rows.map((r, i) => ({
              id: String(i),
              customerId: r.c,
              customerKey: keys.get(r.c),
              name: 'cost',
              tsMicros: r.ts,
              costPicocents: r.cost,
              revenuePicocents: null,
              llmVendor: null,
              llmModel: null,
              attributesJson: '{}',
            })),
          );
        }
        await rollup.finish(tx);
        if (rollsBack) throw new Rollback();
      });
    } catch (err) {
      if (!(err instanceof Rollback)) throw err;
      continue;
    }
    // Committed: the model advances and checks every window some slot of this batch added cost to.
    const slotCost = new Map<string, { c: string; ts: bigint; cost: bigint }>();
    for (const r of rows) {
      const slot = r.ts - (r.ts % 900_000_000n);
      const k = `${r.c}|${slot}`;
      const s = slotCost.get(k) ?? { c: r.c, ts: slot, cost: 0n };
      s.cost += r.cost;
      slotCost.set(k, s);
    }
    for (const r of slotCost.values()) {
      for (const kind of ['day', 'week', 'month'] as const) {
        const k = spendKey(r.c, kind, r.ts);
        spend.set(k, (spend.get(k) ?? 0n) + r.cost);
      }
    }
    for (const r of slotCost.values()) {
      const rule = rules.get(r.c) ?? rules.get('*');
      if (!rule || r.cost <= 0n) continue;
      const ws = budgetWindow(rule.window, r.ts).startMicros;
      const spent = spend.get(spendKey(r.c, rule.window, r.ts)) ?? 0n;
      for (const t of thresholdsReached(spent, rule.amountPicocents, rule.thresholds)) {
        const k = `${r.c}|${ws}|${t}`;
        if (!expected.has(k)) expected.set(k, spent);
      }
    }
    // Budgets change now and then (memory forgets its windows and re-reads them).
    if (batch === 50) await put(budget('c3', 600n, 'month', ['0.5', '2']));
    if (batch === 90) {
      expect(await deleteBudget(conn, checks, 'c1')).toBe(true);
      rules.delete('c1');
    }
    if (batch === 120) await put(budget('*', 1000n, 'week', ['0.3', '0.75']));
  }
  const got = new Map(
    (
      await conn.runAndReadAll(`SELECT customer_id, epoch_us(window_start), rtrim(rtrim(threshold::VARCHAR, '0'), '.'),
        spent::VARCHAR FROM budget_alerts`)
    )
      .getRows()
      .map(([c, ws, t, spent]) => [`${c}|${ws}|${t}`, decimal(spent)]),
  );
  expect(got).toEqual(expected);
  expect(expected.size).toBeGreaterThan(20);
  await db.close();
});
