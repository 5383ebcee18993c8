/**
 * Which customer the current work is for. `withCustomer(id, fn)` scopes it to a callback (and everything
 * async it starts); `setCustomer(id)` marks the current request (the active trace) from inside a
 * framework hook. The customer processor copies it onto spans as `customer.id`.
 */
import { context, createContextKey, propagation, trace } from '@opentelemetry/api';
import { ATTR_CUSTOMER_ID, CUSTOMER_BAGGAGE_KEY } from './semconv.ts';

const CUSTOMER_KEY = createContextKey('costtrace.customer');
const TRACE_CUSTOMERS_MAX = 10_000;

/**
 * Process-wide state, kept on globalThis: the ESM and CommonJS builds of this package (e.g. the register
 * hook and the app's own import) must share it.
 */
interface SharedState {
  /** Trace id → customer set by `setCustomer` (bounded: oldest traces forgotten first). */
  readonly traceCustomers: Map<string, string>;
  propagateInBaggage: boolean;
}
const STATE_KEY = Symbol.for('costtrace.customer-state');
const shared = globalThis as unknown as Record<symbol, SharedState | undefined>;
shared[STATE_KEY] ??= { traceCustomers: new Map(), propagateInBaggage: false };
const state = shared[STATE_KEY] as SharedState;
const traceCustomers = state.traceCustomers;

export function configureCustomerPropagation(enabled: boolean): void {
  state.propagateInBaggage = enabled;
}

/** Runs `fn` with `customerId` as the customer of every span started inside it. */
export function withCustomer<T>(customerId: string, fn: () => T): T {
  if (!isCustomerId(customerId)) return fn(); // e.g. a missing header: run the work, just unattributed
  let ctx = context.active().setValue(CUSTOMER_KEY, customerId);
  if (state.propagateInBaggage) {
    const baggage = propagation.getBaggage(ctx) ?? propagation.createBaggage();
    ctx = propagation.setBaggage(ctx, baggage.setEntry(CUSTOMER_BAGGAGE_KEY, { value: customerId }));
  }
  return context.with(ctx, fn);
}

/**
 * Marks the current request as done for `customerId`: the active span gets `customer.id` and spans started
 * later in the same trace do too. For framework hooks (`onRequest`) where wrapping in `withCustomer` is awkward.
 */
export function setCustomer(customerId: string | undefined): void {
  const span = trace.getActiveSpan();
  if (!span || !isCustomerId(customerId)) return;
  span.setAttribute(ATTR_CUSTOMER_ID, customerId);
  const traceId = span.spanContext().traceId;
  traceCustomers.delete(traceId);
  traceCustomers.set(traceId, customerId);
  if (traceCustomers.size > TRACE_CUSTOMERS_MAX) {
    // Forget the oldest half in one pass: cheap amortized, and requests live far shorter than that.
    let drop = traceCustomers.size / 2;
    for (const key of traceCustomers.keys()) {
      if (drop-- <= 0) break;
      traceCustomers.delete(key);
    }
  }
}

function isCustomerId(v: unknown): v is string {
  return typeof v === 'string' && v !== '';
}

/** The customer for a span starting in `ctx` in trace `traceId`, if any. */
export function customerFor(ctx: ReturnType<typeof context.active>, traceId: string): string | undefined {
  const scoped = ctx.getValue(CUSTOMER_KEY);
  if (typeof scoped === 'string') return scoped;
  const marked = traceCustomers.get(traceId);
  if (marked !== undefined) return marked;
  return propagation.getBaggage(ctx)?.getEntry(CUSTOMER_BAGGAGE_KEY)?.value;
}

/** The customer of the current context, if any. */
export function currentCustomer(): string | undefined {
  const span = trace.getActiveSpan();
  return customerFor(context.active(), span?.spanContext().traceId ?? '');
}
