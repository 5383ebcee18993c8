/** PeriodicJob (collector/jobs/periodic-job.ts): start, period, wake, runOnce, backoff, stop — on fake timers. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type JobTimers,
  PeriodicJob,
  type PeriodicJobOptions,
  systemTimers,
} from '../../../collector/jobs/periodic-job.ts';

/** A run the test finishes by hand. */
function gate() {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

function job(overrides: Partial<PeriodicJobOptions<number>> = {}) {
  let runs = 0;
  const log = vi.fn();
  const j = new PeriodicJob<number>({
    run: async () => ++runs,
    periodMs: 1_000,
    runOnStart: true,
    whenStopped: () => -1,
    log,
    failureMessage: 'test job failed',
    ...overrides,
  });
  return { j, log, runs: () => runs };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('PeriodicJob', () => {
  it('runs at start, then every period', async () => {
    const { j, runs } = job();
    expect(runs()).toBe(0); // constructing starts nothing
    j.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs()).toBe(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(runs()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs()).toBe(2);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(runs()).toBe(5);
    j.start(); // a second start changes nothing
    await vi.advanceTimersByTimeAsync(1_000);
    expect(runs()).toBe(6);
    await j.stop();
  });

  it('without runOnStart, runs first a period after start; a null period runs only when woken', async () => {
    const later = job({ runOnStart: false });
    later.j.start();
    await vi.advanceTimersByTimeAsync(999);
    expect(later.runs()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(later.runs()).toBe(1);
    await later.j.stop();

    const woken = job({ periodMs: null });
    woken.j.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(woken.runs()).toBe(1);
    woken.j.wake();
    await vi.advanceTimersByTimeAsync(0);
    expect(woken.runs()).toBe(2);
    await woken.j.stop();
  });

  it('wake runs now and restarts the period; a wake during a run runs once more right after it', async () => {
    let runs = 0;
    let hold = gate();
    const j = new PeriodicJob<number>({
      run: async () => {
        runs++;
        await hold.opened;
        return runs;
      },
      periodMs: 1_000,
      whenStopped: () => -1,
      log: vi.fn(),
      failureMessage: 'x',
    });
    j.wake(); // before start: ignored
    j.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toBe(0);
    j.wake();
    expect(runs).toBe(1);
    expect(j.running).toBe(true);
    j.wake();
    j.wake(); // coalesced with the one before
    const first = hold;
    hold = gate();
    first.open();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toBe(2);
    hold.open();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toBe(2);
    expect(j.running).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(runs).toBe(3);
    await j.stop();
  });

  it('backs off after failed runs, doubling up to the cap, and a success resets it', async () => {
    let fail = true;
    let runs = 0;
    const log = vi.fn();
    const j = new PeriodicJob<number>({
      run: async () => {
        runs++;
        if (fail) throw new Error(`boom ${runs}`);
        return runs;
      },
      periodMs: 100,
      backoff: { initialMs: 1_000, maxMs: 4_000 },
      runOnStart: true,
      whenStopped: () => -1,
      log,
      failureMessage: 'test job failed',
    });
    j.start();
    const at: number[] = [];
    const t0 = Date.now();
    for (let i = 0; i < 20_000 && runs < 5; i++) {
      const before = runs;
      await vi.advanceTimersByTimeAsync(1);
      if (runs > before) at.push(Date.now() - t0);
    }
    // Run 1 at start (before the loop), then after 1 s, 2 s, 4 s, 4 s (capped).
    expect(at).toEqual([1_000, 3_000, 7_000, 11_000]);
    expect(log).toHaveBeenCalledTimes(5);
    expect(log).toHaveBeenLastCalledWith('test job failed', expect.objectContaining({ message: 'boom 5' }));
    fail = false;
    await vi.advanceTimersByTimeAsync(4_000);
    expect(runs).toBe(6); // succeeded: back to the period
    await vi.advanceTimersByTimeAsync(100);
    expect(runs).toBe(7);
    fail = true;
    await vi.advanceTimersByTimeAsync(100);
    expect(runs).toBe(8);
    await vi.advanceTimersByTimeAsync(999);
    expect(runs).toBe(8);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(9); // the backoff starts again from 1 s
    await j.stop();
  });

  it('without a backoff, a failed run waits the period', async () => {
    let runs = 0;
    const log = vi.fn();
    const { j } = job({
      run: async () => {
        runs++;
        throw new Error('no');
      },
      log,
    });
    j.start();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(runs).toBe(3);
    expect(log).toHaveBeenCalledTimes(3);
    await j.stop();
  });

  it('stop is safe before start and twice; a stopped job never runs', async () => {
    const { j, runs } = job();
    await j.stop();
    await j.stop();
    j.start();
    j.wake();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(runs()).toBe(0);
    expect(await j.runOnce()).toBe(-1);
    expect(j.stopping).toBe(true);
    expect(j.signal.aborted).toBe(true);
  });

  it('stop waits for the run in progress, wakes its sleep, aborts its signal and logs no failure', async () => {
    const log = vi.fn();
    let sawAbort = false;
    let finished = false;
    const j = new PeriodicJob<number>({
      run: async (ctx) => {
        ctx.signal.addEventListener('abort', () => {
          sawAbort = true;
        });
        await ctx.sleep(3_600_000); // woken by stop, not by the hour passing
        expect(ctx.stopping).toBe(true);
        finished = true;
        throw new Error('cut short by shutdown');
      },
      periodMs: 1_000,
      runOnStart: true,
      whenStopped: () => -1,
      log,
      failureMessage: 'x',
    });
    j.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(j.running).toBe(true);
    const stopped = j.stop();
    const again = j.stop();
    await Promise.all([stopped, again]);
    expect(finished).toBe(true);
    expect(sawAbort).toBe(true);
    expect(log).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
    expect(await j.sleep(1_000)).toBeUndefined(); // a sleep after stop returns at once
  });

  it("runOnce: 'join' shares the run in progress, 'again' waits for it and runs once more", async () => {
    for (const overlap of ['join', 'again'] as const) {
      let runs = 0;
      let hold = gate();
      const j = new PeriodicJob<number>({
        run: async () => {
          const n = ++runs;
          await hold.opened;
          return n;
        },
        periodMs: 1_000,
        runOnStart: true,
        overlap,
        whenStopped: () => -1,
        log: vi.fn(),
        failureMessage: 'x',
      });
      j.start();
      await vi.advanceTimersByTimeAsync(0);
      const asked = j.runOnce();
      const first = hold;
      hold = gate();
      first.open();
      if (overlap === 'again') {
        await vi.advanceTimersByTimeAsync(0);
        hold.open();
      }
      expect(await asked).toBe(overlap === 'join' ? 1 : 2);
      hold.open();
      await j.stop();
    }
  });

  it('runOnce rejects with the run’s error, unlogged; runOnce before start runs once and schedules nothing', async () => {
    const log = vi.fn();
    const failing = job({
      run: async () => {
        throw new Error('asked and failed');
      },
      log,
    });
    await expect(failing.j.runOnce()).rejects.toThrow('asked and failed');
    expect(log).not.toHaveBeenCalled();
    const quiet = job();
    expect(await quiet.j.runOnce()).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(quiet.runs()).toBe(1);
    await quiet.j.stop();
    await failing.j.stop();
  });

  it('takes injected timers and measures the period from a run’s start', async () => {
    let now = 0;
    const pending: Array<{ at: number; fn: () => void; cleared: boolean }> = [];
    const timers: JobTimers = {
      now: () => now,
      setTimeout(fn, ms) {
        const t = { at: now + ms, fn, cleared: false };
        pending.push(t);
        return t;
      },
      clearTimeout(handle) {
        (handle as { cleared: boolean }).cleared = true;
      },
    };
    const starts: number[] = [];
    const j = new PeriodicJob<number>({
      run: async () => {
        starts.push(now);
        now += 300; // the run takes 300 ms of the clock
        return 0;
      },
      periodMs: 1_000,
      runOnStart: true,
      whenStopped: () => -1,
      log: vi.fn(),
      failureMessage: 'x',
      timers,
    });
    j.start();
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 2; i++) {
      const next = pending.filter((t) => !t.cleared).sort((a, b) => a.at - b.at)[0];
      if (!next) throw new Error('nothing scheduled');
      next.cleared = true;
      now = next.at;
      next.fn();
      await vi.advanceTimersByTimeAsync(0);
    }
    expect(starts).toEqual([0, 1_000, 2_000]);
    await j.stop();
    expect(pending.every((t) => t.cleared)).toBe(true);
  });
});

describe('systemTimers', () => {
  it('unrefs its timers: a job never keeps the process alive', () => {
    vi.useRealTimers();
    const handle = systemTimers.setTimeout(() => undefined, 60_000) as ReturnType<typeof setTimeout>;
    expect(handle.hasRef()).toBe(false);
    systemTimers.clearTimeout(handle);
  });
});
