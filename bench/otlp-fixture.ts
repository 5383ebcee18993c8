/**
 * Pre-encoded OTLP/protobuf requests for benchmarks, made by the official OpenTelemetry JS SDK and
 * serializer: 100 traces × 10 spans (a root with `customer.id`, 9 children with 10 attributes and a
 * `_cost`). `requestBody(k)` rewrites the trace ids so every request carries new traces.
 */
import { context, SpanKind, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

export const SPANS_PER_REQUEST = 1000;

export interface Fixture {
  requestBody(k: number): Buffer;
  /** The same request as OTLP/JSON (the official JSON serializer; trace ids rewritten as in requestBody). */
  jsonBody(k: number): string;
  readonly bytes: number;
  /** Where each span's start and end time (fixed64, little-endian ns) sit in the body, for benches that move them. */
  readonly timeOffsets: readonly number[];
}

export async function makeFixture(): Promise<Fixture> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'bench-api', 'host.name': 'bench-1', 'process.pid': 1234 }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('bench', '1.0.0');
  for (let t = 0; t < SPANS_PER_REQUEST / 10; t++) {
    const root = tracer.startSpan('POST /v1/answer', {
      kind: SpanKind.SERVER,
      attributes: { 'customer.id': `customer-${t % 50}`, 'http.request.method': 'POST', 'http.route': '/v1/answer' },
    });
    const ctx = trace.setSpan(context.active(), root);
    for (let i = 0; i < 9; i++) {
      const child = tracer.startSpan(
        `chat gpt-4o-mini ${i}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'gen_ai.operation.name': 'chat',
            'gen_ai.provider.name': 'openai',
            'gen_ai.request.model': 'gpt-4o-mini',
            'gen_ai.usage.input_tokens': 1200 + i,
            'gen_ai.usage.output_tokens': 300 + i,
            'server.address': 'api.openai.com',
            'http.response.status_code': 200,
            'app.feature': 'answers',
            '_cost.amount': 0.0123 * (i + 1),
            '_cost.currency': 'usd',
          },
        },
        ctx,
      );
      child.end();
    }
    root.end();
  }
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  const template = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array);
  const offsets: number[] = [];
  for (const traceId of new Set(spans.map((s) => s.spanContext().traceId))) {
    const needle = Buffer.from(traceId, 'hex');
    for (let at = template.indexOf(needle); at !== -1; at = template.indexOf(needle, at + 1)) offsets.push(at);
  }
  const timeOffsets: number[] = [];
  const nanos = (t: readonly [number, number]) => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
  const times = new Set(spans.flatMap((s) => [nanos(s.startTime), nanos(s.endTime)]));
  for (const t of times) {
    const needle = Buffer.alloc(8);
    needle.writeBigUInt64LE(t);
    for (let at = template.indexOf(needle); at !== -1; at = template.indexOf(needle, at + 1)) timeOffsets.push(at);
  }
  const jsonTemplate = new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans) as Uint8Array);
  const traceIds = [...new Set(spans.map((s) => s.spanContext().traceId))];
  await provider.shutdown();
  return {
    jsonBody(k: number) {
      const prefix = (k >>> 0).toString(16).padStart(8, '0');
      let json = jsonTemplate;
      for (const id of traceIds) json = json.replaceAll(id, prefix + id.slice(8));
      return json;
    },
    bytes: template.length,
    timeOffsets,
    requestBody(k: number) {
      const body = Buffer.from(template);
      for (const at of offsets) body.writeUInt32BE(k >>> 0, at);
      return body;
    },
  };
}
