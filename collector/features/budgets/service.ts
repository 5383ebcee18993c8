/**
 * Budgets as routes see them: put and removed on the writer (the writer's `BudgetChecks` learns of it at once),
 * listed, and a customer's status (its budget or the `*` default, and the spend in the window) read on pooled read
 * connections.
 */
import type { Database } from '../../db/database.ts';
import type { IngestQueue } from '../../writer/ingest-queue.ts';
import type { BudgetChecks } from './budget-checks.ts';
import { budgetFor, deleteBudget, listBudgets, putBudget, spendInWindow } from './budgets.ts';
import type { Budget } from './windows.ts';

export type BudgetService = ReturnType<typeof createBudgetService>;

export function createBudgetService(db: Database, queue: IngestQueue, checks: BudgetChecks) {
  return {
    put: (budget: Budget) => queue.exclusive((conn) => putBudget(conn, checks, budget)),
    list: () => db.read(listBudgets),
    remove: (customerId: string) => queue.exclusive((conn) => deleteBudget(conn, checks, customerId)),
    /** The customer's budget (or the `*` default) and its spend in the window holding `atMicros`; null: neither. */
    status: (customerId: string, atMicros: bigint) =>
      db.read(async (conn) => {
        const budget = await budgetFor(conn, customerId);
        if (budget === null) return null;
        return { budget, spend: await spendInWindow(conn, customerId, budget.window, atMicros) };
      }),
  };
}
