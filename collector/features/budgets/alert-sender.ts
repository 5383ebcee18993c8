/**
 * Delivers budget alerts (docs/contract.md §11) from their durable outbox (`budget_alerts`, written in the transaction
 * that committed the crossing: features/budgets/budget-checks.ts): a Standard Webhooks-signed POST (the maintained
 * `standardwebhooks` library; secret `COSTTRACE_ALERT_WEBHOOK_SECRET`, `whsec_<base64>`) to the budget's own URL or
 * `COSTTRACE_ALERT_WEBHOOK_URL`, polled every second (so within seconds of the commit), retried with exponential
 * backoff (1 s doubling to 10 min) until a 2xx, parked after ALERT_MAX_ATTEMPTS with the last error. The
 * `webhook-id` is derived from (customer, window, threshold): a delivery repeated after a crash between the
 * receiver's 2xx and our record of it carries the same id, so receivers can drop it.
 *
 * Bounded (docs/contract.md §12 v3): each attempt is one exchange of http/outbound.ts (ALERT_EXCHANGE_TIMEOUT_MS in
 * all, 64 KB of the answer read, no redirect followed: a 3xx is a failure). Receivers are independent: each
 * distinct URL has its own lane (its alerts in order, one at a time), up to MAX_ALERT_RECEIVERS_IN_FLIGHT lanes at
 * once, so a receiver that hangs holds only its own alerts. A per-budget URL is checked again on the address it
 * resolves to when sent (features/budgets/webhook-address.ts); the operator's COSTTRACE_ALERT_WEBHOOK_URL is not.
 * The counter says only delivered / failed / parked: a refused address, a refused connection, a timeout and a
 * non-2xx status are all `failed` (the detail goes to the log and `last_error`), so /metrics is no port scanner.
 */
import { createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { formatPicocents, picocentsToNumber } from '../../../src/money.ts';
import {
  ALERT_EXCHANGE_TIMEOUT_MS,
  MAX_ALERT_RECEIVERS_IN_FLIGHT,
  MAX_OUTBOUND_RESPONSE_BYTES,
  OUTBOUND_CONNECT_TIMEOUT_MS,
} from '../../core/limits.ts';
import type { Database } from '../../db/database.ts';
import { decimal } from '../../db/money-values.ts';
import { run } from '../../db/sql.ts';
import { exchange, systemResolver } from '../../http/outbound.ts';
import { type JobTimers, PeriodicJob } from '../../jobs/periodic-job.ts';
import type { IngestQueue } from '../../writer/ingest-queue.ts';
import { checkWebhookUrlSyntax, classifyAddress, refusalOf, type WebhookPolicy } from './webhook-address.ts';

export const ALERT_MAX_ATTEMPTS = 15;
const POLL_MS = 1_000;
const MAX_BACKOFF_S = 600;
/** Alerts one receiver's lane takes from one poll (the rest come with the next poll). */
const ALERTS_PER_LANE = 20;

export interface AlertOptions {
  /** COSTTRACE_ALERT_WEBHOOK_URL: where alerts go when the budget names no URL of its own. */
  readonly url?: string;
  /** COSTTRACE_ALERT_WEBHOOK_SECRET (`whsec_<base64>`). */
  readonly secret?: string;
  /** The address policy per-budget URLs are checked against when sent (default: public only, system DNS). */
  readonly policy?: WebhookPolicy;
  readonly log: (message: string) => void;
  readonly observe: (outcome: 'delivered' | 'failed' | 'parked') => void;
  /** The collector's clock (µs since epoch): when alerts are due, and their records. */
  readonly nowMicros: () => bigint;
  /** Tests: the clock and timers of the polling job. */
  readonly timers?: JobTimers;
}

interface DueAlert {
  readonly customerId: string;
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly threshold: string;
  readonly amount: bigint;
  readonly spent: bigint;
  readonly url: string | null;
  readonly attempts: number;
}

export function alertPayload(a: Omit<DueAlert, 'url' | 'attempts'>) {
  return {
    type: 'budget.threshold_crossed',
    data: {
      customer_id: a.customerId,
      threshold: Number(a.threshold),
      spent_cents: picocentsToNumber(a.spent),
      spent_cents_exact: formatPicocents(a.spent),
      amount_cents: picocentsToNumber(a.amount),
      window_start: a.windowStart,
      window_end: a.windowEnd,
    },
  };
}

/** The lane an alert goes in: its own URL, or '' for COSTTRACE_ALERT_WEBHOOK_URL. */
const laneOf = (a: DueAlert) => a.url ?? '';

export class AlertSender {
  private readonly webhook: Webhook | null;
  private readonly policy: WebhookPolicy;
  /** One run: one poll of the due alerts, every POLL_MS (and when a lane ends). */
  private readonly job: PeriodicJob<void>;
  /** Receivers being sent to (lane key → its run): their alerts are not read again until the lane ends. */
  private readonly lanes = new Map<string, Promise<void>>();

  constructor(
    private readonly db: Database,
    private readonly queue: IngestQueue,
    private readonly options: AlertOptions,
  ) {
    this.webhook = options.secret ? new Webhook(options.secret) : null;
    this.policy = options.policy ?? { allowPrivate: false, resolve: systemResolver };
    this.job = new PeriodicJob({
      run: () => this.poll(),
      periodMs: POLL_MS,
      runOnStart: true,
      whenStopped: () => undefined,
      log: (_message, err) => options.log(`budget alerts: ${(err as Error).message}`),
      failureMessage: 'budget alerts failed',
      ...(options.timers ? { timers: options.timers } : {}),
    });
  }

  start(): void {
    this.job.start();
  }

  /** Aborts the exchanges in flight (an attempt cut short does not count) and waits for every lane. */
  async stop(): Promise<void> {
    await this.job.stop();
    await Promise.all(this.lanes.values());
  }

  /** Reads the due alerts of the receivers not being sent to and starts a lane for each. */
  private async poll(): Promise<void> {
    if (this.lanes.size >= MAX_ALERT_RECEIVERS_IN_FLIGHT) return;
    const byLane = new Map<string, DueAlert[]>();
    for (const alert of await this.due([...this.lanes.keys()])) {
      const key = laneOf(alert);
      if (!byLane.has(key)) byLane.set(key, []);
      byLane.get(key)?.push(alert);
    }
    for (const [key, alerts] of byLane) {
      if (this.job.stopping || this.lanes.size >= MAX_ALERT_RECEIVERS_IN_FLIGHT) break;
      this.lanes.set(
        key,
        this.lane(alerts).finally(() => {
          this.lanes.delete(key);
          this.job.wake(); // its next alerts (if any) are due now
        }),
      );
    }
  }

  /** One receiver's alerts in order; stops at the first failure (the rest keep their own schedule). */
  private async lane(alerts: readonly DueAlert[]): Promise<void> {
    try {
      for (const alert of alerts) {
        if (this.job.stopping || !(await this.deliver(alert))) return;
      }
    } catch (err) {
      if (!this.job.stopping) this.options.log(`budget alerts: recording a delivery failed: ${(err as Error).message}`);
    }
  }

  private async due(busyLanes: readonly string[]): Promise<DueAlert[]> {
    const busy = busyLanes.length === 0 ? '' : `AND coalesce(webhook_url, '') NOT IN (${busyLanes.map(() => '?')})`;
    const rows = await this.db.read(async (conn) =>
      (
        await conn.runAndReadAll(
          `SELECT customer_id, strftime(window_start, '%Y-%m-%dT%H:%M:%SZ'), strftime(window_end, '%Y-%m-%dT%H:%M:%SZ'),
             threshold::VARCHAR, amount::VARCHAR, spent::VARCHAR, webhook_url, attempts
           FROM budget_alerts
           WHERE delivered_at IS NULL AND parked_at IS NULL AND next_attempt_at <= make_timestamp(?::BIGINT) ${busy}
           QUALIFY row_number() OVER (PARTITION BY coalesce(webhook_url, '')
             ORDER BY crossed_at, customer_id, threshold) <= ${ALERTS_PER_LANE}
           ORDER BY crossed_at, customer_id, threshold LIMIT ${ALERTS_PER_LANE * MAX_ALERT_RECEIVERS_IN_FLIGHT}`,
          [this.options.nowMicros(), ...busyLanes],
        )
      ).getRows(),
    );
    return rows.map((r) => ({
      customerId: String(r[0]),
      windowStart: String(r[1]),
      windowEnd: String(r[2]),
      threshold: String(r[3]).replace(/0+$/, '').replace(/\.$/, ''),
      amount: decimal(r[4]),
      spent: decimal(r[5]),
      url: r[6] === null ? null : String(r[6]),
      attempts: Number(r[7]),
    }));
  }

  /** Why sending failed (for the log and `last_error`), or null when the receiver answered 2xx. */
  private async send(url: string, own: boolean, id: string, body: string): Promise<string | null> {
    if (this.webhook === null) return 'COSTTRACE_ALERT_WEBHOOK_SECRET is not set';
    const { allowPrivate, resolve } = this.policy;
    if (own) {
      // Re-checked when sent: the budget may predate the policy, and a name is judged on what it resolves to now.
      const syntax = checkWebhookUrlSyntax(url, allowPrivate);
      if (!syntax.ok) return `refused: ${syntax.reason}`;
    }
    const now = new Date();
    try {
      const res = await exchange({
        url,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': this.webhook.sign(id, now, body),
        },
        body,
        timeoutMs: ALERT_EXCHANGE_TIMEOUT_MS,
        connectTimeoutMs: OUTBOUND_CONNECT_TIMEOUT_MS,
        maxResponseBytes: MAX_OUTBOUND_RESPONSE_BYTES,
        signal: this.job.signal,
        ...(own ? { checkAddress: (a: string) => refusalOf(classifyAddress(a), allowPrivate), resolve } : {}),
      });
      if (res.status >= 300 && res.status < 400) {
        return `the receiver answered ${res.status} (a redirect; redirects are not followed)`;
      }
      return res.status >= 200 && res.status < 300 ? null : `the receiver answered ${res.status}`;
    } catch (err) {
      return `sending failed: ${(err as Error).message}`;
    }
  }

  /** Sends one alert and records the outcome; true when it was delivered. */
  private async deliver(a: DueAlert): Promise<boolean> {
    const url = a.url ?? this.options.url ?? null;
    const key = [a.customerId, a.windowStart, a.threshold] as const;
    const where = `customer_id = ? AND window_start = ?::TIMESTAMP AND threshold = ?::DECIMAL(9,6)`;
    if (url === null || this.webhook === null) {
      const reason =
        url === null
          ? 'no webhook URL (COSTTRACE_ALERT_WEBHOOK_URL or the budget’s own)'
          : 'COSTTRACE_ALERT_WEBHOOK_SECRET is not set';
      await this.queue.exclusive((conn) =>
        run(conn, `UPDATE budget_alerts SET parked_at = make_timestamp(?::BIGINT), last_error = ? WHERE ${where}`, [
          this.options.nowMicros(),
          reason,
          ...key,
        ]),
      );
      this.options.observe('parked');
      return false;
    }
    const body = JSON.stringify(alertPayload(a));
    const id = `msg_${createHash('sha256').update(key.join('\u0000')).digest('hex').slice(0, 32)}`;
    const error = await this.send(url, a.url !== null, id, body);
    if (this.job.stopping && error !== null) return false; // cancelled by shutdown: the attempt does not count
    if (error === null) {
      await this.queue.exclusive((conn) =>
        run(
          conn,
          `UPDATE budget_alerts SET delivered_at = make_timestamp(?::BIGINT), attempts = attempts + 1 WHERE ${where}`,
          [this.options.nowMicros(), ...key],
        ),
      );
      this.options.observe('delivered');
      return true;
    }
    const attempts = a.attempts + 1;
    const park = attempts >= ALERT_MAX_ATTEMPTS;
    const backoffS = Math.min(MAX_BACKOFF_S, 2 ** (attempts - 1));
    // The target's own URL may carry a secret (its path): the log names its origin only.
    this.options.log(
      `budget alert ${id} to ${originOf(url)} ${park ? 'parked' : 'failed'} (attempt ${attempts}): ${error}`,
    );
    await this.queue.exclusive((conn) =>
      run(
        conn,
        `UPDATE budget_alerts SET attempts = ?, last_error = ?,
           next_attempt_at = make_timestamp(?::BIGINT) + to_seconds(?::BIGINT),
           parked_at = CASE WHEN ? THEN make_timestamp(?::BIGINT) END
         WHERE ${where}`,
        [attempts, error, this.options.nowMicros(), backoffS, park, this.options.nowMicros(), ...key],
      ),
    );
    this.options.observe(park ? 'parked' : 'failed');
    return false;
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'an unreadable URL';
  }
}
