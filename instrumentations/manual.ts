/** Manual cost and revenue on the active span, for internal services, queues and anything else. */
import { diag, trace } from '@opentelemetry/api';
import { formatPicocents, parseAmount } from '../src/money.ts';
import {
  ATTR_COST_AMOUNT,
  ATTR_COST_CURRENCY,
  ATTR_COST_SOURCE,
  ATTR_REVENUE_AMOUNT,
  ATTR_REVENUE_CURRENCY,
  type CostMethod,
  DEFAULT_CURRENCY,
  SUPPORTED_CURRENCIES,
} from './semconv.ts';

/** Sets the active span's own cost (cents, ≥ 0). Returns false (and logs via diag) when it cannot. */
export function recordCost(amountCents: number | string, currency = DEFAULT_CURRENCY): boolean {
  return record(amountCents, currency, false, (span, amount) => {
    span.setAttribute(ATTR_COST_AMOUNT, amount);
    span.setAttribute(ATTR_COST_CURRENCY, currency.toLowerCase());
    span.setAttribute(ATTR_COST_SOURCE, 'manual' satisfies CostMethod);
  });
}

/** Sets revenue booked by the active span (cents; negative for refunds). */
export function recordRevenue(amountCents: number | string, currency = DEFAULT_CURRENCY): boolean {
  return record(amountCents, currency, true, (span, amount) => {
    span.setAttribute(ATTR_REVENUE_AMOUNT, amount);
    span.setAttribute(ATTR_REVENUE_CURRENCY, currency.toLowerCase());
  });
}

function record(
  amountCents: number | string,
  currency: string,
  allowNegative: boolean,
  set: (span: NonNullable<ReturnType<typeof trace.getActiveSpan>>, amount: string) => void,
): boolean {
  const span = trace.getActiveSpan();
  if (!span) {
    diag.warn('costtrace: no active span to record an amount on');
    return false;
  }
  const parsed = parseAmount(amountCents);
  if (!parsed.ok || (!allowNegative && parsed.picocents < 0n) || !SUPPORTED_CURRENCIES.has(currency.toLowerCase())) {
    diag.warn(`costtrace: ignored amount ${String(amountCents)} ${currency}`);
    return false;
  }
  set(span, formatPicocents(parsed.picocents));
  return true;
}
