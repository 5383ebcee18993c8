/**
 * One lifecycle for the collector's background work (docs STYLE "A component lifecycle"): a PeriodicJob runs its
 * `run` on start (optionally), every period, when woken and when asked (`runOnce`); one run at a time; a failed
 * scheduled run is logged and the next waits the backoff (doubling from `initialMs` up to `maxMs`, reset by a run
 * that succeeds). `stop()` is safe before `start()` and twice: it cancels the timer, wakes the run's sleeps,
 * aborts its signal and waits for the run in progress. Timers are unref'd (a job never keeps the process alive);
 * the clock and timers are injectable for tests.
 */

/** The clock and timers a job schedules with (tests inject fake ones). */
export interface JobTimers {
  /** Milliseconds, for measuring a period from a run's start. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock; every timer unref'd. Globals are read at call time, so test fake timers apply. */
export const systemTimers: JobTimers = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** What a run sees of its job. */
export interface JobContext {
  /** True from `stop()` on: a long run checks it between steps and ends early. */
  readonly stopping: boolean;
  /** Aborted by `stop()`: hand it to outbound requests so shutdown never waits on a hanging peer. */
  readonly signal: AbortSignal;
  /** Waits `ms` (or less: resolves at once when stopping, and at `stop()`). */
  sleep(ms: number): Promise<void>;
}

export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

export interface PeriodicJobOptions<T> {
  /** The job's own work. A thrown error is a failed run. */
  readonly run: (job: JobContext) => Promise<T>;
  /** From one run's start to the next; null: runs only on start, when woken or through `runOnce`. */
  readonly periodMs: number | null;
  /** After a successful run: the wait before the next (overrides `periodMs`; 0 goes on at once, null waits for a wake). */
  readonly nextDelayMs?: (result: T) => number | null;
  /** The wait after a failed scheduled run; default: the period. */
  readonly backoff?: Backoff;
  /** Run once at `start()` (else the first run is a period later). */
  readonly runOnStart?: boolean;
  /** `runOnce` while a run is in progress: 'join' resolves with that run, 'again' waits for it and runs again. */
  readonly overlap?: 'join' | 'again';
  /** What `runOnce` resolves with once the job is stopped. */
  readonly whenStopped: () => T;
  /** A failed scheduled run (never logged while stopping). */
  readonly log: (message: string, err: unknown) => void;
  /** The message logged with a failed run's error. */
  readonly failureMessage: string;
  readonly timers?: JobTimers;
}

export class PeriodicJob<T> implements JobContext {
  private state: 'new' | 'started' | 'stopped' = 'new';
  private current: Promise<T> | null = null;
  /** Woken during a run: run again right after it. */
  private again = false;
  private timer: unknown = null;
  private failures = 0;
  private readonly sleepers = new Set<() => void>();
  private readonly abort = new AbortController();
  private readonly timers: JobTimers;

  constructor(private readonly options: PeriodicJobOptions<T>) {
    this.timers = options.timers ?? systemTimers;
  }

  get stopping(): boolean {
    return this.state === 'stopped';
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Whether a run is in progress. */
  get running(): boolean {
    return this.current !== null;
  }

  start(): void {
    if (this.state !== 'new') return;
    this.state = 'started';
    if (this.current) return; // a runOnce before start: its end schedules the next
    if (this.options.runOnStart) this.scheduled();
    else this.schedule(this.options.periodMs);
  }

  /** Runs now, or right after the run in progress. Ignored before `start()` and after `stop()`. */
  wake(): void {
    if (this.state !== 'started') return;
    if (this.current) {
      this.again = true;
      return;
    }
    this.scheduled();
  }

  /** One run, resolved with its result (rejected with its error, which is not logged); see `overlap`. */
  async runOnce(): Promise<T> {
    if (this.stopping) return this.options.whenStopped();
    if (this.current && (this.options.overlap ?? 'again') === 'join') return this.current;
    while (this.current) await this.current.catch(() => undefined);
    if (this.stopping) return this.options.whenStopped();
    return this.begin();
  }

  /** Resolves once no run is in progress (runs woken meanwhile included). */
  async idle(): Promise<void> {
    while (this.current) await this.current.catch(() => undefined);
  }

  /** Stops scheduling, wakes sleeps, aborts the signal and waits for the run in progress. Safe before start, twice. */
  async stop(): Promise<void> {
    if (this.state !== 'stopped') {
      this.state = 'stopped';
      this.clearTimer();
      for (const wake of [...this.sleepers]) wake();
      this.abort.abort();
    }
    await this.idle();
  }

  sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        this.sleepers.delete(done);
        this.timers.clearTimeout(handle);
        resolve();
      };
      const handle = this.timers.setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  /** A run from the schedule: its failure is logged, not thrown. */
  private scheduled(): void {
    this.begin().catch((err: unknown) => {
      if (!this.stopping) this.options.log(this.options.failureMessage, err);
    });
  }

  private begin(): Promise<T> {
    this.clearTimer();
    this.again = false;
    const startedAt = this.timers.now();
    const run: Promise<T> = this.options.run(this).then(
      (result) => {
        this.failures = 0;
        const next = this.options.nextDelayMs ? this.options.nextDelayMs(result) : this.options.periodMs;
        this.finish(run, next, startedAt);
        return result;
      },
      (err: unknown) => {
        this.failures++;
        const b = this.options.backoff;
        const wait = b ? Math.min(b.maxMs, b.initialMs * 2 ** (this.failures - 1)) : this.options.periodMs;
        this.finish(run, wait, b ? null : startedAt);
        throw err;
      },
    );
    this.current = run;
    return run;
  }

  /** After a run: the next one (woken: at once; else `delayMs` from `from`, or from now when `from` is null). */
  private finish(run: Promise<T>, delayMs: number | null, from: number | null): void {
    if (this.current === run) this.current = null;
    if (this.state !== 'started') return;
    if (this.again) {
      this.scheduled();
      return;
    }
    if (delayMs === null) return;
    this.schedule(from === null ? delayMs : delayMs - (this.timers.now() - from));
  }

  private schedule(delayMs: number | null): void {
    this.clearTimer();
    if (delayMs === null || this.state !== 'started') return;
    if (delayMs <= 0) {
      this.scheduled();
      return;
    }
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      if (this.current) this.again = true;
      else this.scheduled();
    }, delayMs);
  }

  private clearTimer(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}
