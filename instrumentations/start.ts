/**
 * `startCostTracing(options)`: starts OpenTelemetry tracing — a Node tracer provider (AsyncLocalStorage
 * context, W3C trace-context + baggage propagation) with the OTLP/HTTP (protobuf) exporter, the http, undici
 * (fetch), pg and openai instrumentations (the Anthropic SDK traces itself), and costtrace's processors — or,
 * with `startSdk: false`, returns just the processors for an app that owns its SDK setup.
 *
 * Built from the SDK's pieces rather than `@opentelemetry/sdk-node`, which pulls every OTLP exporter (gRPC,
 * metrics, logs, Zipkin, Prometheus) into the app's install; the resource comes from the environment
 * (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) like the NodeSDK's.
 */
import { diag } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
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
  let resource = defaultResource().merge(detectResources({ detectors: [envDetector] }));
  if (options.serviceName) resource = resource.merge(resourceFromAttributes({ 'service.name': options.serviceName }));
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [...spanProcessors, new BatchSpanProcessor(exporter)],
  });
  provider.register();
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation(),
      new UndiciInstrumentation(),
      new PgInstrumentation(),
      new OpenAIInstrumentation(),
      // @anthropic-ai/sdk (1.x) emits GenAI spans itself through @opentelemetry/api: nothing to add.
    ],
  });
  return {
    spanProcessors,
    shutdown: async () => {
      unregister();
      await provider.shutdown().catch((err: unknown) => {
        diag.error('costtrace: tracer provider shutdown failed', err);
      });
    },
  };
}
