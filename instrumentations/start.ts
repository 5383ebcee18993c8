/**
 * `startCostTracing(options)`: starts the OpenTelemetry Node SDK with the OTLP/HTTP (protobuf) exporter,
 * the http, undici (fetch), pg and openai instrumentations (the Anthropic SDK traces itself), and
 * costtrace's processors — or,
 * with `startSdk: false`, returns just the processors for an app that owns its SDK setup.
 */
import { diag } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { configureCustomerPropagation } from './customer.ts';
import { CostSpanProcessor } from './processors/cost-processor.ts';
import { CustomerSpanProcessor } from './processors/customer-processor.ts';
import type { CostTracingOptions } from './types.ts';

export const DEFAULT_TRACES_ENDPOINT = 'http://127.0.0.1:4318/v1/traces';

export interface CostTracing {
  /** costtrace's processors (customer first, then cost): add them before your exporting processor. */
  readonly spanProcessors: SpanProcessor[];
  /** Flushes and stops what was started (nothing when `startSdk` is false). */
  shutdown(): Promise<void>;
}

/** The processors alone, in the order they must run. */
export function costSpanProcessors(options: CostTracingOptions = {}): SpanProcessor[] {
  return [new CustomerSpanProcessor(), new CostSpanProcessor(options.rules ?? {}, options.llmPricing ?? true)];
}

export function startCostTracing(options: CostTracingOptions = {}): CostTracing {
  configureCustomerPropagation(options.propagateCustomer ?? false);
  const spanProcessors = costSpanProcessors(options);
  if (options.startSdk === false) return { spanProcessors, shutdown: async () => {} };
  const endpointFromEnv = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const exporter = new OTLPTraceExporter(
    options.endpoint ? { url: options.endpoint } : endpointFromEnv ? {} : { url: DEFAULT_TRACES_ENDPOINT },
  );
  const sdk = new NodeSDK({
    ...(options.serviceName ? { resource: resourceFromAttributes({ 'service.name': options.serviceName }) } : {}),
    spanProcessors: [...spanProcessors, new BatchSpanProcessor(exporter)],
    instrumentations: [
      new HttpInstrumentation(),
      new UndiciInstrumentation(),
      new PgInstrumentation(),
      new OpenAIInstrumentation(),
      // @anthropic-ai/sdk (1.x) emits GenAI spans itself through @opentelemetry/api: nothing to add.
    ],
  });
  sdk.start();
  return {
    spanProcessors,
    shutdown: () =>
      sdk.shutdown().catch((err: unknown) => {
        diag.error('costtrace: SDK shutdown failed', err);
      }),
  };
}
