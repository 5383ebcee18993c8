/**
 * Budgets (docs/contract.md §11): one per customer id, `*` the default for every customer without its own; amounts in
 * cents (exact), UTC calendar windows (day, ISO week from Monday, month), thresholds as fractions of the amount.
 * Spend is read from the rollup (every committed cost: spans, events, allocations, re-pricing).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { decimalText } from '../../db/appender.ts';
import { decimal } from '../../db/money-values.ts';
import { big, col, one, type Row, rows, textOrNull } from '../../db/sql.ts';
import type { BudgetChecks } from './budget-checks.ts';
import { type Budget, type BudgetWindow, budgetWindow, thresholdText } from './windows.ts';

const SELECT = `SELECT customer_id, amount::VARCHAR AS amount, budget_window,
  list_transform(thresholds, t -> t::VARCHAR) AS thresholds, webhook_url, epoch_us(updated_at) AS updated_us FROM budgets`;

function budgetOf(r: Row): Budget {
  const list = col(r, 'thresholds') as { items?: unknown[] } | unknown[];
  const items = Array.isArray(list) ? list : (list.items ?? []);
  return {
    customerId: String(col(r, 'customer_id')),
    amountPicocents: decimal(col(r, 'amount')),
    window: String(col(r, 'budget_window')) as BudgetWindow,
    thresholds: items.map((t) => thresholdText(String(t))),
    webhookUrl: textOrNull(r, 'webhook_url'),
    updatedAtMicros: big(r, 'updated_us'),
  };
}

export async function putBudget(conn: DuckDBConnection, checks: BudgetChecks, b: Budget): Promise<void> {
  const list = `[${b.thresholds.map(() => '?::DECIMAL(9,6)').join(', ')}]`;
  await conn.run(
    `INSERT OR REPLACE INTO budgets VALUES (?, ?::DECIMAL(38,12), ?, ${list}, ?, make_timestamp(?::BIGINT))`,
    [b.customerId, decimalText(b.amountPicocents), b.window, ...b.thresholds, b.webhookUrl, b.updatedAtMicros],
  );
  checks.changed(b.customerId, b);
}

export async function deleteBudget(conn: DuckDBConnection, checks: BudgetChecks, customerId: string): Promise<boolean> {
  const r = await conn.run('DELETE FROM budgets WHERE customer_id = ?', [customerId]);
  if (r.rowsChanged > 0) checks.changed(customerId, null);
  return r.rowsChanged > 0;
}

/** Loads every budget into the writer's memory for the crossing check (budget-checks.ts), at start. */
export async function loadBudgetBook(conn: DuckDBConnection, checks: BudgetChecks): Promise<void> {
  checks.setRules(await listBudgets(conn));
}

export async function listBudgets(conn: DuckDBConnection): Promise<Budget[]> {
  return rows(conn, `${SELECT} ORDER BY customer_id`, [], budgetOf);
}

/** The customer's own budget, else the `*` default, else null. */
export async function budgetFor(conn: DuckDBConnection, customerId: string): Promise<Budget | null> {
  return (
    (await one(conn, `${SELECT} WHERE customer_id IN (?, '*') ORDER BY customer_id = '*'`, [customerId], budgetOf)) ??
    null
  );
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
  const spent = await one(
    conn,
    `SELECT coalesce(sum(r.costs), 0)::VARCHAR AS spent FROM rollup_15m r JOIN customers c USING (customer_key)
     WHERE c.external_id = ? AND r.slot >= make_timestamp(?::BIGINT) AND r.slot < make_timestamp(?::BIGINT)`,
    [customerId, w.startMicros, w.endMicros],
    (r) => col(r, 'spent'),
  );
  return { windowStartMicros: w.startMicros, windowEndMicros: w.endMicros, spentPicocents: decimal(spent) };
}
