/**
 * Delivers budget alerts (CONTRACT.md §11) from their durable outbox (`budget_alerts`, written in the transaction
 * that committed the crossing: store/budget-checks.ts): a Standard Webhooks-signed POST (the maintained
 * `standardwebhooks` library; secret `COSTTRACE_ALERT_WEBHOOK_SECRET`, `whsec_<base64>`) to the budget's own URL or
 * `COSTTRACE_ALERT_WEBHOOK_URL`, polled every second (so within seconds of the commit), retried with exponential
 * backoff (1 s doubling to 10 min) until a 2xx, parked after ALERT_MAX_ATTEMPTS with the last error. The
 * `webhook-id` is derived from (customer, window, threshold): a delivery repeated after a crash between the
 * receiver's 2xx and our record of it carries the same id, so receivers can drop it.
 */
import { createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { formatPicocents, picocentsToNumber } from '../../src/money.ts';
import type { Database } from '../store/database.ts';
import type { IngestQueue } from '../store/ingest-queue.ts';
import { decimal } from '../store/metric-reads.ts';

export const ALERT_MAX_ATTEMPTS = 15;
const POLL_MS = 1_000;
const MAX_BACKOFF_S = 600;
const SEND_TIMEOUT_MS = 10_000;
const nowMicros = () => BigInt(Date.now()) * 1000n;

export interface AlertOptions {
  /** COSTTRACE_ALERT_WEBHOOK_URL: where alerts go when the budget names no URL of its own. */
  readonly url?: string;
  /** COSTTRACE_ALERT_WEBHOOK_SECRET (`whsec_<base64>`). */
  readonly secret?: string;
  readonly log: (message: string) => void;
  readonly observe: (outcome: 'delivered' | 'failed' | 'parked') => void;
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

export class AlertSender {
  private readonly webhook: Webhook | null;
  private running: Promise<void> | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  private readonly inFlight = new AbortController();

  constructor(
    private readonly db: Database,
    private readonly queue: IngestQueue,
    private readonly options: AlertOptions,
  ) {
    this.webhook = options.secret ? new Webhook(options.secret) : null;
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    this.inFlight.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        for (const alert of await this.due()) {
          if (this.stopping) return;
          await this.deliver(alert);
        }
      } catch (err) {
        if (this.stopping) return;
        this.options.log(`budget alerts: ${(err as Error).message}`);
      }
      if (this.stopping) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  private async due(): Promise<DueAlert[]> {
    const rows = await this.db.read(async (conn) =>
      (
        await conn.runAndReadAll(
          `SELECT customer_id, strftime(window_start, '%Y-%m-%dT%H:%M:%SZ'), strftime(window_end, '%Y-%m-%dT%H:%M:%SZ'),
             threshold::VARCHAR, amount::VARCHAR, spent::VARCHAR, webhook_url, attempts
           FROM budget_alerts
           WHERE delivered_at IS NULL AND parked_at IS NULL AND next_attempt_at <= make_timestamp(?::BIGINT)
           ORDER BY crossed_at, customer_id, threshold LIMIT 100`,
          [nowMicros()] as never,
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

  private async deliver(a: DueAlert): Promise<void> {
    const url = a.url ?? this.options.url ?? null;
    const key = [a.customerId, a.windowStart, a.threshold] as const;
    const where = `customer_id = ? AND window_start = ?::TIMESTAMP AND threshold = ?::DECIMAL(9,6)`;
    if (url === null || this.webhook === null) {
      const reason =
        url === null
          ? 'no webhook URL (COSTTRACE_ALERT_WEBHOOK_URL or the budget’s own)'
          : 'COSTTRACE_ALERT_WEBHOOK_SECRET is not set';
      await this.queue.exclusive((conn) =>
        conn.run(`UPDATE budget_alerts SET parked_at = make_timestamp(?::BIGINT), last_error = ? WHERE ${where}`, [
          nowMicros(),
          reason,
          ...key,
        ] as never),
      );
      this.options.observe('parked');
      return;
    }
    const body = JSON.stringify(alertPayload(a));
    const id = `msg_${createHash('sha256').update(key.join('\u0000')).digest('hex').slice(0, 32)}`;
    const now = new Date();
    let error: string | null = null;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': this.webhook.sign(id, now, body),
        },
        body,
        signal: AbortSignal.any([this.inFlight.signal, AbortSignal.timeout(SEND_TIMEOUT_MS)]),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status >= 300) error = `the receiver answered ${res.status}`;
    } catch (err) {
      if (this.stopping) return;
      error = `sending failed: ${(err as Error).message}`;
    }
    if (error === null) {
      await this.queue.exclusive((conn) =>
        conn.run(
          `UPDATE budget_alerts SET delivered_at = make_timestamp(?::BIGINT), attempts = attempts + 1 WHERE ${where}`,
          [nowMicros(), ...key] as never,
        ),
      );
      this.options.observe('delivered');
      return;
    }
    const attempts = a.attempts + 1;
    const park = attempts >= ALERT_MAX_ATTEMPTS;
    const backoffS = Math.min(MAX_BACKOFF_S, 2 ** (attempts - 1));
    await this.queue.exclusive((conn) =>
      conn.run(
        `UPDATE budget_alerts SET attempts = ?, last_error = ?,
           next_attempt_at = make_timestamp(?::BIGINT) + to_seconds(?::BIGINT),
           parked_at = CASE WHEN ? THEN make_timestamp(?::BIGINT) END
         WHERE ${where}`,
        [attempts, error, nowMicros(), backoffS, park, nowMicros(), ...key] as never,
      ),
    );
    this.options.observe(park ? 'parked' : 'failed');
  }
}
