/**
 * The traced HTTP server measured by bench/overhead.ts: http instrumentation, a BatchSpanProcessor exporting
 * OTLP/protobuf to a sink, and — when COSTTRACE_PROCESSORS=on — costtrace's customer and cost processors.
 * Each request makes a server span, a customer-scoped child span and a priced vendor-call span.
 */
import { createServer } from 'node:http';
import { SpanKind, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { withCustomer } from '../instrumentations/customer.ts';
import { costSpanProcessors } from '../instrumentations/start.ts';

const withProcessors = process.env.COSTTRACE_PROCESSORS === 'on';
const exporter = new OTLPTraceExporter({ url: process.env.SINK_URL ?? 'http://127.0.0.1:4318/v1/traces' });
const provider = new NodeTracerProvider({
  spanProcessors: [
    ...(withProcessors
      ? costSpanProcessors({ rules: { http: [{ host: 'api.vendor.example', centsPerRequest: 0.1 }] } })
      : []),
    new BatchSpanProcessor(exporter, { maxQueueSize: 100_000, maxExportBatchSize: 2048, scheduledDelayMillis: 200 }),
  ],
});
provider.register();
registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });
const tracer = trace.getTracer('overhead');

const server = createServer((req, res) => {
  withCustomer(`customer-${req.url?.length ?? 0}`, () => {
    tracer.startActiveSpan('handle', (span) => {
      const vendor = tracer.startSpan('POST', {
        kind: SpanKind.CLIENT,
        attributes: { 'server.address': 'api.vendor.example', 'http.request.method': 'POST', 'url.path': '/send' },
      });
      vendor.end();
      span.end();
      res.end('ok');
    });
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  void provider.shutdown().then(() => process.exit(0));
});
