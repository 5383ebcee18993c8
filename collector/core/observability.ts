/**
 * Self-observability (docs/contract.md §6): Prometheus counters for what was accepted and rejected, the
 * ingest queue, and store latency. One registry per app instance (no global singleton).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The collector's Prometheus metrics; the ingest queue reports to it (writer/ingest-queue.ts QueueObserver). */
export class CollectorMetrics {
  readonly registry = new Registry();
  readonly spansReceived = new Counter({
    name: 'costtrace_spans_received_total',
    help: 'Spans received in well-formed OTLP requests.',
    registers: [this.registry],
  });
  readonly spansRejected = new Counter({
    name: 'costtrace_spans_rejected_total',
    help: 'Spans rejected one by one (reported as OTLP partial success).',
    registers: [this.registry],
  });
  readonly spansStored = new Counter({
    name: 'costtrace_spans_stored_total',
    help: 'Spans committed to the store (re-sent duplicates excluded).',
    registers: [this.registry],
  });
  readonly spansDuplicate = new Counter({
    name: 'costtrace_spans_duplicate_total',
    help: 'Re-sent spans (same trace and span id) that were already stored.',
    registers: [this.registry],
  });
  readonly events = new Counter({
    name: 'costtrace_events_total',
    help: 'Events API events by outcome: inserted, duplicate, or rejected (in a batch refused with 422).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly requests = new Counter({
    name: 'costtrace_ingest_requests_total',
    help: 'Ingest requests by HTTP status code.',
    labelNames: ['route', 'code'] as const,
    registers: [this.registry],
  });
  readonly batches = new Counter({
    name: 'costtrace_store_batches_total',
    help: 'Store transactions by outcome.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly commitSeconds = new Histogram({
    name: 'costtrace_store_commit_seconds',
    help: 'Time to attribute and commit one batch.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'costtrace_ingest_queue_spans',
    help: 'Spans waiting to be committed.',
    registers: [this.registry],
  });
  readonly webhooks = new Counter({
    name: 'costtrace_webhooks_total',
    help: 'Billing webhooks by provider and outcome: booked, duplicate, ignored, nothing_new, bad_signature, malformed, refused (over a record limit, no FX rate), failed (store error, 5xx), not_configured.',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly forwarded = new Counter({
    name: 'costtrace_polar_forwarded_total',
    help: 'Cost events sent to Polar by outcome: inserted, duplicate (Polar already had it), parked (refused for good), retry (a batch to send again).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly alerts = new Counter({
    name: 'costtrace_budget_alerts_total',
    help: 'Budget alert deliveries by outcome: delivered (2xx), failed (to be retried: any refused address or connection, timeout, redirect or non-2xx status alike; the reason is in the log), parked (given up, or no URL/secret).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly forwardingPending = new Gauge({
    name: 'costtrace_polar_outbox_pending',
    help: 'Cost events waiting to be sent to Polar.',
    registers: [this.registry],
  });
  readonly metersDisabled = new Counter({
    name: 'costtrace_meters_disabled_total',
    help: 'Meters disabled because the store could not evaluate them on a write (see GET /v1/meters/{id}).',
    registers: [this.registry],
  });
  readonly insightIndexed = new Counter({
    name: 'costtrace_insight_indexed_periods_total',
    help: 'Ended UTC days (trace index) and months (rollup by month) indexed for insights, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly insightIndexPending = new Gauge({
    name: 'costtrace_insight_index_pending_periods',
    help: 'Ended days and months not indexed for insights yet (found by the last scan; insights read them live).',
    registers: [this.registry],
  });
  readonly pendingAttribution = new Gauge({
    name: 'costtrace_attribution_pending_spans',
    help: 'Spans whose customer waits for an ancestor span not received yet.',
    registers: [this.registry],
  });

  /** A committed transaction; span counts only for span batches (events are counted by their route). */
  committed(kind: 'spans' | 'events', records: number, inserted: number, seconds: number): void {
    if (kind === 'spans') {
      this.spansStored.inc(inserted);
      this.spansDuplicate.inc(records - inserted);
    }
    this.batches.inc({ outcome: 'committed' });
    this.commitSeconds.observe(seconds);
  }

  /** The store failed (retryable). */
  failed(): void {
    this.batches.inc({ outcome: 'failed' });
  }

  /** Meters a write could not evaluate, disabled (features/meters/meters.ts `MeterProjection.mend`). */
  metersDisabledOnWrite(n: number): void {
    this.metersDisabled.inc(n);
  }

  /** The store refused one request's data (permanent, answered 400). */
  refused(): void {
    this.batches.inc({ outcome: 'refused' });
  }
}
