/**
 * Public configuration of costtrace's instrumentation. Amounts are cents (number or decimal string).
 */
import type { Attributes } from '@opentelemetry/api';

/** A cost that may depend on the span: a fixed amount in cents, or a function of the span's attributes. */
export type CentsRule = number | string | ((span: { attributes: Attributes; durationMs: number }) => number | string);

/** Prices outgoing HTTP/fetch calls to a vendor (CLIENT spans from the http and undici instrumentations). */
export interface HttpCostRule {
  /** Host to match, exactly (`api.mail.example`) or with a leading wildcard (`*.mail.example`). */
  readonly host: string;
  /** HTTP method to match (any when omitted). */
  readonly method?: string;
  /** Path pattern: exact, or ending in `*` for a prefix (`/v3/mail/*`). Any path when omitted. */
  readonly path?: string;
  /** Cents per matching request. Default 0. */
  readonly centsPerRequest?: CentsRule;
  /** Cents per byte of the request body (`http.request.body.size`). Default 0. */
  readonly centsPerRequestByte?: number | string;
  /** Cents per byte of the response body (`http.response.body.size`). Default 0. */
  readonly centsPerResponseByte?: number | string;
}

/** Prices database calls (CLIENT spans from the pg instrumentation). */
export interface DbCostRule {
  /** `db.system` to match, e.g. `postgresql` (any when omitted). */
  readonly system?: string;
  /** Operation to match, e.g. `SELECT` (case-insensitive; any when omitted). */
  readonly operation?: string;
  /** Cents per query. Default 0. */
  readonly centsPerQuery?: CentsRule;
  /** Cents per millisecond of query time. Default 0. */
  readonly centsPerMs?: number | string;
}

export interface CostRules {
  readonly http?: readonly HttpCostRule[];
  readonly db?: readonly DbCostRule[];
}

export interface CostTracingOptions {
  /** `service.name` of this app. Default: OTEL_SERVICE_NAME, else the OTel SDK's default. */
  readonly serviceName?: string;
  /**
   * OTLP/HTTP traces endpoint. Default: the standard OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT variables, else
   * `http://127.0.0.1:4318/v1/traces` (a local costtrace collector).
   */
  readonly endpoint?: string;
  /** Vendor HTTP and database cost rules. Default: none. */
  readonly rules?: CostRules;
  /** Price LLM calls from token usage. Default true. */
  readonly llmPricing?: boolean;
  /**
   * Put the customer id into W3C baggage so the app's own downstream services receive it. Default false:
   * ids are not sent in headers to third parties; the collector attributes child services through the trace.
   */
  readonly propagateCustomer?: boolean;
  /**
   * Start the OpenTelemetry Node SDK (exporter + http/undici/pg/openai instrumentations).
   * Default true. With false, nothing is started: add the returned `spanProcessors` to your own SDK.
   */
  readonly startSdk?: boolean;
}
