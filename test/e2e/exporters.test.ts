/**
 * The official OpenTelemetry JS exporters (OTLP/HTTP JSON and protobuf, gzip on and off) send spans
 * from an SDK tracer to a real collector; the tree read back through GET /v1/traces/{id} must equal
 * what was sent: ids, names, times, costs and customers.
 */
import { context, type Span, SpanKind, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as HttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../helpers/collector.ts';

let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector();
});
afterAll(async () => {
  await c.close();
});

const hrToNanos = (t: [number, number]) => (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();

/** Emits one request trace: a server root for a customer, an LLM call with a cost, an email call, a DB query. */
async function emitTrace(exporter: SpanExporter, customer: string): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'shop-api' }),
    spanProcessors: [new BatchSpanProcessor(exporter), new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('e2e');
  const root = tracer.startSpan('POST /checkout', {
    kind: SpanKind.SERVER,
    attributes: { 'customer.id': customer, 'http.request.method': 'POST' },
  });
  const ctx = trace.setSpan(context.active(), root);
  const child = (name: string, attributes: Record<string, string | number>, parent = ctx): Span =>
    tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
  const llm = child('chat gpt-4o', {
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.usage.input_tokens': 1200,
    '_cost.amount': 0.815,
    '_cost.currency': 'USD',
  });
  const tool = child('tool lookup', { '_cost.amount': 3 }, trace.setSpan(ctx, llm));
  tool.end();
  llm.end();
  child('POST api.mail.example/send', { 'server.address': 'api.mail.example', '_cost.amount': '0.1' }).end();
  child('SELECT orders', { 'db.system': 'postgresql' }).end();
  root.setAttribute('_revenue.amount', 4900);
  root.end();
  await provider.forceFlush();
  const finished = memory.getFinishedSpans();
  await provider.shutdown();
  return finished;
}

interface Node {
  span_id: string;
  parent_span_id: string | null;
  name: string;
  start_time_unix_nano: string;
  end_time_unix_nano: string;
  customer_id: string | null;
  cost: number | null;
  subtree_cost: number;
  revenue: number | null;
  children: Node[];
}

const flatten = (nodes: Node[]): Node[] => nodes.flatMap((n) => [n, ...flatten(n.children)]);

describe.each([
  ['http/json', false],
  ['http/json', true],
  ['http/protobuf', false],
  ['http/protobuf', true],
])('official %s exporter (gzip %s)', (protocol, gzip) => {
  it('stores a cost trace that reads back exactly as sent', async () => {
    const options = { url: `${c.url}/v1/traces`, ...(gzip ? { compression: 'gzip' as never } : {}) };
    const exporter = protocol === 'http/json' ? new HttpJsonExporter(options) : new ProtoExporter(options);
    const customer = `cust-${protocol}-${gzip}`;
    const sent = await emitTrace(exporter, customer);
    const traceId = sent[0]?.spanContext().traceId as string;

    const res = await fetch(`${c.url}/v1/traces/${traceId}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { trace_id: string; customer_id: string; total_cost: number; spans: Node[] };
    expect(body.trace_id).toBe(traceId);
    expect(body.customer_id).toBe(customer);
    expect(body.total_cost).toBe(3.915);
    expect(body.spans).toHaveLength(1);
    const root = body.spans[0] as Node;
    expect(root.name).toBe('POST /checkout');
    expect(root.subtree_cost).toBe(3.915);
    expect(root.revenue).toBe(4900);

    const stored = new Map(flatten(body.spans).map((n) => [n.span_id, n]));
    expect(stored.size).toBe(sent.length);
    const expectedCost: Record<string, number | null> = {
      'chat gpt-4o': 0.815,
      'tool lookup': 3,
      'POST api.mail.example/send': 0.1,
      'SELECT orders': null,
      'POST /checkout': null,
    };
    for (const s of sent) {
      const n = stored.get(s.spanContext().spanId);
      expect(n).toMatchObject({
        name: s.name,
        parent_span_id: s.parentSpanContext?.spanId ?? null,
        start_time_unix_nano: hrToNanos(s.startTime),
        end_time_unix_nano: hrToNanos(s.endTime),
        customer_id: customer,
        cost: expectedCost[s.name],
      });
    }
    expect(stored.get(sent.find((s) => s.name === 'chat gpt-4o')?.spanContext().spanId as string)?.subtree_cost).toBe(
      3.815,
    );
  });
});

describe('official exporter under backpressure', () => {
  it('retries after 429 + Retry-After and the spans land exactly once', async () => {
    const busy = await startTestCollector({ maxQueuedRecords: 1 });
    try {
      // Hold the writer, and fill the queue with one waiting request, so the exporter's first try is refused.
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => {
        release = r;
      });
      void busy.collector.queue.exclusive(() => gate);
      const filler = fetch(`${busy.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          resourceSpans: [
            { scopeSpans: [{ spans: [{ traceId: 'f'.repeat(32), spanId: 'f'.repeat(16), name: 'filler' }] }] },
          ],
        }),
      });
      while (busy.collector.queue.depth === 0) await new Promise((r) => setTimeout(r, 10));
      const exporter = new ProtoExporter({ url: `${busy.url}/v1/traces` });
      const timer = setTimeout(release, 300);
      let sent: ReadableSpan[];
      try {
        sent = await emitTrace(exporter, 'patient');
      } finally {
        clearTimeout(timer);
        release();
      }
      expect((await filler).status).toBe(200);
      const metrics = await (await fetch(`${busy.url}/metrics`)).text();
      expect(metrics).toMatch(/costtrace_ingest_requests_total\{route="\/v1\/traces",code="429"\} [1-9]/);
      const traceId = sent[0]?.spanContext().traceId as string;
      const body = (await (await fetch(`${busy.url}/v1/traces/${traceId}`)).json()) as {
        span_count: number;
        total_cost: number;
      };
      expect(body).toMatchObject({ span_count: sent.length, total_cost: 3.915 });
    } finally {
      await busy.close();
    }
  });
});
