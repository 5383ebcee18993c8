/**
 * Which derived tables the writer keeps (writer/projection.ts), registered here and nowhere else: the rollup (and,
 * told of its changes, the insight index's months and the budget crossings), the trace summaries (which un-index
 * the insight index's days they land on), meters, the insight index (re-pricing), and — when forwarding to Polar
 * is on — the outbox. A new derived table is one more entry. The writer's memory of the features lives in these
 * objects, returned for the services and jobs that change it.
 */
import { RollupProjection } from './derived/rollup.ts';
import { TraceSummaries } from './derived/trace-summaries.ts';
import { OutboxProjection } from './features/billing/outbox.ts';
import { BudgetChecks } from './features/budgets/budget-checks.ts';
import { InsightIndex } from './features/insights/insight-index.ts';
import { MeterProjection } from './features/meters/meters.ts';
import { type Projection, Projections } from './writer/projection.ts';

export interface WriterProjections {
  readonly projections: Projections;
  readonly meters: MeterProjection;
  readonly budgets: BudgetChecks;
  readonly insightIndex: InsightIndex;
}

export function writerProjections(o: {
  /** Queue attributed costs for Polar in the same transactions as the records. */
  readonly forwarding: boolean;
  /** Meters a write could not evaluate, once disabled (log and count them). */
  readonly metersDisabled: (ids: readonly string[], engineError: unknown) => void;
}): WriterProjections {
  const insightIndex = new InsightIndex();
  const budgets = new BudgetChecks();
  const meters = new MeterProjection(o.metersDisabled);
  const all: Projection[] = [
    new RollupProjection([insightIndex, budgets]),
    new TraceSummaries(insightIndex),
    meters,
    insightIndex,
  ];
  if (o.forwarding) all.push(new OutboxProjection());
  return { projections: new Projections(all), meters, budgets, insightIndex };
}
