/**
 * Sets `_cost` on spans as they end (SDK `onEnding`, when attributes are still writable and the duration
 * is known): LLM spans from token usage and the price table, vendor HTTP calls and database queries from
 * rules. A cost already on the span (manual, or reported by the provider) wins. Never throws into the app:
 * every failure goes to `diag`, and the span is exported unchanged.
 */
import { type Attributes, diag, SpanKind } from '@opentelemetry/api';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { formatPicocents, type Picocents } from '../../src/money.ts';
import { priceLlmUsage, usageFromAttributes } from '../../src/pricing.ts';
import { dbCost, httpCost, type SpanFacts } from '../rules.ts';
import {
  ATTR_COST_AMOUNT,
  ATTR_COST_CURRENCY,
  ATTR_COST_SOURCE,
  ATTR_COST_UNPRICED,
  type CostMethod,
  DEFAULT_CURRENCY,
} from '../semconv.ts';
import type { CostRules } from '../types.ts';

export class CostSpanProcessor implements SpanProcessor {
  constructor(
    private readonly rules: CostRules = {},
    private readonly llmPricing = true,
  ) {}

  onStart(): void {}

  onEnding(span: Span): void {
    try {
      this.price(span);
    } catch (err) {
      diag.error(`costtrace: pricing span "${span.name}" failed`, err);
    }
  }

  private price(span: Span): void {
    const attributes: Attributes = span.attributes;
    if (attributes[ATTR_COST_AMOUNT] !== undefined) return;
    const facts: SpanFacts = { attributes, durationMs: hrTimeToMilliseconds(span.duration) };
    if (this.llmPricing) {
      const usage = usageFromAttributes((k) => attributes[k], span.instrumentationScope?.name ?? '');
      if (usage !== null) {
        const price = priceLlmUsage(usage, new Date(hrTimeToMilliseconds(span.startTime)));
        if (price.kind === 'priced')
          set(span, price.picocents, price.source === 'reported' ? 'reported' : 'llm_price_table');
        else span.setAttribute(ATTR_COST_UNPRICED, true);
        return;
      }
    }
    if (span.kind !== SpanKind.CLIENT) return;
    const http = this.rules.http?.length ? httpCost(this.rules.http, facts) : null;
    if (http !== null) {
      set(span, http, 'http_rule');
      return;
    }
    const db = this.rules.db?.length ? dbCost(this.rules.db, facts) : null;
    if (db !== null) set(span, db, 'db_rule');
  }

  onEnd(_span: ReadableSpan): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function set(span: Span, picocents: Picocents, source: CostMethod): void {
  span.setAttribute(ATTR_COST_AMOUNT, formatPicocents(picocents));
  span.setAttribute(ATTR_COST_CURRENCY, DEFAULT_CURRENCY);
  span.setAttribute(ATTR_COST_SOURCE, source);
}
