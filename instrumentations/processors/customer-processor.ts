/** Copies the current customer (withCustomer / setCustomer / baggage) onto every span as it starts. */
import type { Context } from '@opentelemetry/api';
import { diag } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { customerFor } from '../customer.ts';
import { ATTR_CUSTOMER_ID } from '../semconv.ts';

export class CustomerSpanProcessor implements SpanProcessor {
  onStart(span: Span, parentContext: Context): void {
    try {
      if (span.attributes[ATTR_CUSTOMER_ID] !== undefined) return;
      const customer = customerFor(parentContext, span.spanContext().traceId);
      if (customer !== undefined) span.setAttribute(ATTR_CUSTOMER_ID, customer);
    } catch (err) {
      diag.error('costtrace: customer processor failed', err);
    }
  }
  onEnd(_span: ReadableSpan): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
