/**
 * When fixed bills are allocated (docs/contract.md §8). A UTC day is allocated once it has closed and an hour has
 * passed (late spans from exporter retries land first), with the book in force then, one day per writer turn
 * (ingest goes on between days). Each day is allocated once; re-pricing a window re-allocates its days with the
 * current book (and removes the allocations of bills no longer in it). Days whose spans retention may have
 * removed are never re-allocated: their usage is gone, their allocation stays as it was.
 */

import { DAY_MICROS } from '../../core/time.ts';
import { transaction } from '../../db/transaction.ts';
import { type JobTimers, PeriodicJob } from '../../jobs/periodic-job.ts';
import type { IngestQueue } from '../../writer/ingest-queue.ts';
import { writeTx } from '../../writer/projection.ts';
import { allocateDay, billsInForce, dayShare } from './allocate.ts';
import { allocatedDays, type BillDay, firstRecordDay, readDayUsage, writeDayAllocations } from './allocations.ts';
import type { Pricing } from './pricing.ts';

/** A day is allocated this long after it ends (UTC). */
export const ALLOCATE_AFTER_DAY_END_MICROS = 3_600_000_000n;

/** How often closed days are checked for fixed bills to allocate by default. */
export const ALLOCATION_INTERVAL_MS = 60_000;

export interface AllocationTally {
  days: number;
  changed: number;
  deltaPicocents: bigint;
  /** Bills that could not be allocated on a day (e.g. no FX rate yet), with the reason. */
  problems: string[];
}

export function emptyAllocationTally(): AllocationTally {
  return { days: 0, changed: 0, deltaPicocents: 0n, problems: [] };
}

const startOfDay = (micros: bigint) => micros - (((micros % DAY_MICROS) + DAY_MICROS) % DAY_MICROS);
/** The later of two instants (bigint: Math.max does not take them). */
function later(a: bigint, b: bigint): bigint {
  if (a >= b) return a;
  return b;
}
const isoDay = (micros: bigint) => new Date(Number(micros / 1000n)).toISOString().slice(0, 10);

export class Allocator {
  constructor(
    private readonly queue: IngestQueue,
    private readonly pricing: () => Pricing,
    private readonly nowMicros: () => bigint,
    private readonly retainSpansDays: number,
  ) {}

  /** The first day (start, µs) a new allocation may touch, and the day after the last closed one. */
  private bounds(): { from: bigint; to: bigint } {
    const now = this.nowMicros();
    const to = startOfDay(now - ALLOCATE_AFTER_DAY_END_MICROS);
    // With retention on, the oldest kept day may already have lost spans: start at the first whole kept day.
    const from =
      this.retainSpansDays > 0 ? startOfDay(now - BigInt(this.retainSpansDays) * DAY_MICROS) + DAY_MICROS : 0n;
    return { from, to };
  }

  /** Allocates every closed day with a bill in force that has not been allocated yet. */
  async allocateDue(): Promise<AllocationTally> {
    const tally = emptyAllocationTally();
    const pricing = this.pricing();
    if (pricing.book.fixed.length === 0) return tally;
    const { from, to } = this.bounds();
    const first = await this.queue.exclusive((conn) => firstRecordDay(conn));
    if (first === null) return tally;
    const start = later(first, from);
    const done = await this.queue.exclusive((conn) => allocatedDays(conn, start, to));
    for (let day = start; day < to; day += DAY_MICROS) {
      if (!done.has(day) && billsInForce(pricing.book, day).length > 0) await this.allocate(day, pricing, tally);
    }
    return tally;
  }

  /** Re-allocates the closed days of [fromMicros, toMicros) with the book in force now. */
  async reallocate(fromMicros: bigint, toMicros: bigint): Promise<AllocationTally> {
    const tally = emptyAllocationTally();
    const pricing = this.pricing();
    const bounds = this.bounds();
    const from = later(startOfDay(fromMicros), bounds.from);
    const to = later(toMicros, bounds.to) === toMicros ? bounds.to : toMicros;
    if (from >= to) return tally;
    const first = await this.queue.exclusive((conn) => firstRecordDay(conn));
    const done = await this.queue.exclusive((conn) => allocatedDays(conn, from, to));
    for (let day = from; day < to; day += DAY_MICROS) {
      const billed = first !== null && day >= first && billsInForce(pricing.book, day).length > 0;
      if (billed || done.has(day)) await this.allocate(day, pricing, tally);
    }
    return tally;
  }

  private async allocate(day: bigint, pricing: Pricing, tally: AllocationTally): Promise<void> {
    const bills = billsInForce(pricing.book, day);
    const write = await this.queue.exclusive((conn, _customers, projections) =>
      transaction(conn, async (_, open) => {
        const usage = await readDayUsage(conn, day, bills);
        const billDays: BillDay[] = [];
        for (const bill of bills) {
          const share = dayShare(bill, day, pricing.book);
          if (!share.ok) {
            tally.problems.push(`${isoDay(day)} "${bill.name}": ${share.reason}; not allocated`);
            continue;
          }
          billDays.push({
            bill,
            sharePicocents: share.usdPicocents,
            parts: allocateDay(bill, share.usdPicocents, usage),
          });
        }
        return writeDayAllocations(
          writeTx(open, conn, this.nowMicros()),
          projections,
          day,
          billDays,
          usage.keys,
          pricing.version,
        );
      }),
    );
    tally.days++;
    tally.changed += write.changed;
    tally.deltaPicocents += write.deltaPicocents;
  }
}

export interface AllocationJobOptions {
  readonly periodMs?: number;
  /** Bills a run could not allocate (already prefixed `fixed-cost allocation: `). */
  readonly warn: (message: string) => void;
  readonly log: (message: string, err: unknown) => void;
  readonly timers?: JobTimers;
}

/**
 * The allocation job: at start and every period, `allocateDue`. One run at a time: a run asked for while one is
 * going joins it. A failure is logged and resolves with an empty tally; the next tick retries.
 */
export function allocationJob(allocator: Allocator, o: AllocationJobOptions): PeriodicJob<AllocationTally> {
  const failureMessage = 'fixed-cost allocation failed; will retry at the next tick';
  return new PeriodicJob({
    run: () =>
      allocator
        .allocateDue()
        .then((tally) => {
          for (const problem of tally.problems) o.warn(`fixed-cost allocation: ${problem}`);
          return tally;
        })
        .catch((err: unknown) => {
          o.log(failureMessage, err);
          return emptyAllocationTally();
        }),
    periodMs: o.periodMs ?? ALLOCATION_INTERVAL_MS,
    runOnStart: true,
    overlap: 'join',
    whenStopped: emptyAllocationTally,
    log: o.log,
    failureMessage,
    ...(o.timers ? { timers: o.timers } : {}),
  });
}
