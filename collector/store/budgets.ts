/**
 * Budgets (docs/contract.md §11): one per customer id, `*` the default for every customer without its own; amounts in
 * cents (exact), UTC calendar windows (day, ISO week from Monday, month), thresholds as fractions of the amount.
 * Spend is read from the rollup (every committed cost: spans, events, allocations, re-pricing).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { type BudgetWindowKind, budgetWindow, thresholdText } from '../budgets/windows.ts';
import { decimalText } from './appender.ts';
import { budgetChanged, setBudgetRules } from './budget-checks.ts';
import { decimal } from './metric-reads.ts';

export type BudgetWindow = BudgetWindowKind;

export interface Budget {
  readonly customerId: string;
  readonly amountPicocents: bigint;
  readonly window: BudgetWindow;
  /** Fractions of the amount, ascending, as exact decimal text (e.g. "0.8"). */
  readonly thresholds: readonly string[];
  readonly webhookUrl: string | null;
  readonly updatedAtMicros: bigint;
}

const SELECT = `SELECT customer_id, amount::VARCHAR, budget_window, list_transform(thresholds, t -> t::VARCHAR),
  webhook_url, epoch_us(updated_at) FROM budgets`;

function budgetOf(r: unknown[]): Budget {
  const list = r[3] as { items?: unknown[] } | unknown[];
  const items = Array.isArray(list) ? list : (list.items ?? []);
  return {
    customerId: String(r[0]),
    amountPicocents: decimal(r[1]),
    window: String(r[2]) as BudgetWindow,
    thresholds: items.map((t) => thresholdText(String(t))),
    webhookUrl: r[4] === null ? null : String(r[4]),
    updatedAtMicros: BigInt(r[5] as bigint),
  };
}

export async function putBudget(conn: DuckDBConnection, b: Budget): Promise<void> {
  const list = `[${b.thresholds.map(() => '?::DECIMAL(9,6)').join(', ')}]`;
  await conn.run(
    `INSERT OR REPLACE INTO budgets VALUES (?, ?::DECIMAL(38,12), ?, ${list}, ?, make_timestamp(?::BIGINT))`,
    [b.customerId, decimalText(b.amountPicocents), b.window, ...b.thresholds, b.webhookUrl, b.updatedAtMicros] as never,
  );
  budgetChanged(conn, b.customerId, b);
}

export async function deleteBudget(conn: DuckDBConnection, customerId: string): Promise<boolean> {
  const r = await conn.run('DELETE FROM budgets WHERE customer_id = ?', [customerId]);
  if (r.rowsChanged > 0) budgetChanged(conn, customerId, null);
  return r.rowsChanged > 0;
}

/** Loads every budget into the writer's memory for the crossing check (budget-checks.ts), at start. */
export async function loadBudgetBook(conn: DuckDBConnection): Promise<void> {
  setBudgetRules(conn, await listBudgets(conn));
}

export async function listBudgets(conn: DuckDBConnection): Promise<Budget[]> {
  return (await conn.runAndReadAll(`${SELECT} ORDER BY customer_id`)).getRows().map(budgetOf);
}

/** The customer's own budget, else the `*` default, else null. */
export async function budgetFor(conn: DuckDBConnection, customerId: string): Promise<Budget | null> {
  const rows = (
    await conn.runAndReadAll(`${SELECT} WHERE customer_id IN (?, '*') ORDER BY customer_id = '*'`, [customerId])
  ).getRows();
  return rows.length === 0 ? null : budgetOf(rows[0] as unknown[]);
}

export interface BudgetSpend {
  readonly windowStartMicros: bigint;
  readonly windowEndMicros: bigint;
  readonly spentPicocents: bigint;
}

/** The customer's spend in the UTC window of `window` kind containing `atMicros`. */
export async function spendInWindow(
  conn: DuckDBConnection,
  customerId: string,
  window: BudgetWindow,
  atMicros: bigint,
): Promise<BudgetSpend> {
  const w = budgetWindow(window, atMicros);
  const r = (
    await conn.runAndReadAll(
      `SELECT coalesce(sum(r.costs), 0)::VARCHAR FROM rollup_15m r JOIN customers c USING (customer_key)
       WHERE c.external_id = ? AND r.slot >= make_timestamp(?::BIGINT) AND r.slot < make_timestamp(?::BIGINT)`,
      [customerId, w.startMicros, w.endMicros] as never,
    )
  ).getRows()[0] as unknown[];
  return { windowStartMicros: w.startMicros, windowEndMicros: w.endMicros, spentPicocents: decimal(r[0]) };
}
