/**
 * Real SDK clients (openai, @anthropic-ai/sdk, fetch, pg) against local fakes and a throwaway PostgreSQL,
 * traced by the real instrumentations plus costtrace's processors into an in-memory exporter. Each kind
 * of span is checked by its whole attribute map.
 */
import { createRequire } from 'node:module';
import { context, propagation, trace } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeVendors, startFakeVendors } from '../../examples/support/fake-vendors.ts';
import { startPostgres, type ThrowawayPostgres } from '../../examples/support/postgres.ts';
import { configureCustomerPropagation } from '../../instrumentations/customer.ts';
import { recordCost, recordRevenue, setCustomer, withCustomer } from '../../instrumentations/index.ts';
import { costSpanProcessors } from '../../instrumentations/start.ts';

const exporter = new InMemorySpanExporter();
const throwingRules = { value: false };
const provider = new NodeTracerProvider({
  spanProcessors: [
    ...costSpanProcessors({
      rules: {
        http: [
          {
            host: '127.0.0.1',
            method: 'POST',
            path: '/v3/mail/*',
            centsPerRequest: () => {
              if (throwingRules.value) throw new Error('rule exploded');
              return 0.1;
            },
          },
        ],
        db: [
          {
            system: 'postgresql',
            centsPerQuery: () => {
              if (throwingRules.value) throw new Error('rule exploded');
              return '0.002';
            },
          },
        ],
      },
    }),
    new SimpleSpanProcessor(exporter),
  ],
});
provider.register();
registerInstrumentations({
  instrumentations: [new OpenAIInstrumentation(), new UndiciInstrumentation(), new PgInstrumentation()],
});
// Loaded after the instrumentations are registered, through require: patched like in an instrumented app.
const require = createRequire(import.meta.url);
const OpenAI = require('openai') as typeof import('openai').default;
const Anthropic = require('@anthropic-ai/sdk') as typeof import('@anthropic-ai/sdk').default;
const pg = require('pg') as typeof import('pg');

let vendors: FakeVendors;
let postgres: ThrowawayPostgres;
beforeAll(async () => {
  vendors = await startFakeVendors();
  postgres = startPostgres();
});
afterAll(async () => {
  await vendors.close();
  postgres.stop();
  await provider.shutdown();
});
beforeEach(() => {
  exporter.reset();
  throwingRules.value = false;
});

const spansNamed = (prefix: string): ReadableSpan[] =>
  exporter.getFinishedSpans().filter((s) => s.name.startsWith(prefix));
const openai = () => new OpenAI({ apiKey: 'sk-test', baseURL: `${vendors.url}/v1`, maxRetries: 0 });
/** Runs one query for `customer` on a fresh connection to the throwaway PostgreSQL. */
async function queryAs(customer: string, sql: string) {
  const client = new pg.Client({ host: postgres.host, port: postgres.port, user: postgres.user, database: 'postgres' });
  await client.connect();
  try {
    return await withCustomer(customer, () => client.query(sql));
  } finally {
    await client.end();
  }
}
const anthropic = () => new Anthropic({ apiKey: 'sk-ant-test', baseURL: vendors.url, maxRetries: 0 });

describe('LLM spans', () => {
  it('OpenAI chat completion: GenAI attributes, customer and cost from the price table', async () => {
    const reply = await withCustomer('acme', () =>
      openai().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    );
    expect(reply.choices[0]?.message.content).toBe('Hello!');
    const [span] = spansNamed('chat');
    expect(span?.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.system': 'openai',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.response.id': 'chatcmpl-fake123',
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.usage.input_tokens': 1200,
      'gen_ai.usage.output_tokens': 300,
      'server.address': '127.0.0.1',
      'server.port': expect.any(Number),
      'customer.id': 'acme',
      // (1200 input incl. 200 cached → the instrumentation reports no cache attribute, so all at the input
      // rate) 1200 × $2.50/M + 300 × $10/M = $0.006 = 0.6 cents
      '_cost.amount': '0.6',
      '_cost.currency': 'usd',
      '_cost.source': 'llm_price_table',
    });
  });

  it('Anthropic message: the SDK traces itself; cache reads and writes priced once, at their rates', async () => {
    const reply = await withCustomer('globex', () =>
      anthropic().messages.create({
        model: 'claude-sonnet-4-6',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    );
    expect(reply.content[0]).toEqual({ type: 'text', text: 'Hello!' });
    const [span] = spansNamed('anthropic.messages.create');
    expect(span?.attributes).toEqual({
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'claude-sonnet-4-6',
      'gen_ai.request.max_tokens': 100,
      'gen_ai.response.id': 'msg_fake123',
      'gen_ai.response.model': 'claude-sonnet-4-6',
      'gen_ai.usage.input_tokens': 1500,
      'gen_ai.usage.output_tokens': 250,
      'gen_ai.usage.cache_read.input_tokens': 400,
      'gen_ai.usage.cache_write.input_tokens': 100,
      'anthropic.message.stop_reason': 'end_turn',
      'server.address': '127.0.0.1',
      'server.port': expect.any(Number),
      'http.route': '/v1/messages',
      'http.request.method': 'POST',
      'http.response.status_code': 200,
      'url.scheme': 'http',
      'url.path': '/v1/messages',
      'url.full': `${vendors.url}/v1/messages`,
      'customer.id': 'globex',
      // 1000 × $3/M + 400 × $0.30/M + 100 × $3.75/M + 250 × $15/M = $0.007245 = 0.7245 cents
      '_cost.amount': '0.7245',
      '_cost.currency': 'usd',
      '_cost.source': 'llm_price_table',
    });
    // only one LLM span is priced: the HTTP request under it carries the customer but no cost
    const http = exporter.getFinishedSpans().filter((s) => s.name === 'POST');
    expect(http.map((s) => [s.attributes['customer.id'], s.attributes['_cost.amount']])).toEqual([
      ['globex', undefined],
    ]);
  });
});

describe('vendor HTTP and database spans', () => {
  it('prices an email API call by rule and marks the request customer with setCustomer', async () => {
    const tracer = trace.getTracer('test');
    await tracer.startActiveSpan('POST /signup', async (root) => {
      setCustomer('initech');
      const res = await fetch(`${vendors.url}/v3/mail/send`, { method: 'POST', body: '{"to":"a@b.c"}' });
      expect(res.status).toBe(202);
      root.end();
    });
    const [span] = spansNamed('POST').filter((s) => s.name === 'POST');
    expect(span?.attributes).toEqual({
      'http.request.method': 'POST',
      'http.request.method_original': 'POST',
      'url.full': `${vendors.url}/v3/mail/send`,
      'url.path': '/v3/mail/send',
      'url.query': '',
      'url.scheme': 'http',
      'server.address': '127.0.0.1',
      'server.port': expect.any(Number),
      'user_agent.original': 'node',
      'network.peer.address': '127.0.0.1',
      'network.peer.port': expect.any(Number),
      'http.response.status_code': 202,
      'network.protocol.version': '1.1',
      'customer.id': 'initech',
      '_cost.amount': '0.1',
      '_cost.currency': 'usd',
      '_cost.source': 'http_rule',
    });
  });

  it('prices a PostgreSQL query by rule', async () => {
    const rows = await queryAs('acme', 'SELECT 41 + 1 AS answer');
    expect(rows.rows).toEqual([{ answer: 42 }]);
    const [span] = exporter
      .getFinishedSpans()
      .filter((s) => s.attributes['db.query.text'] === 'SELECT 41 + 1 AS answer');
    expect(span?.name).toBe('pg.query:SELECT postgres');
    expect(span?.attributes).toEqual({
      'db.system.name': 'postgresql',
      'db.namespace': 'postgres',
      'db.query.text': 'SELECT 41 + 1 AS answer',
      'server.address': postgres.host,
      'server.port': postgres.port,
      'customer.id': 'acme',
      '_cost.amount': '0.002',
      '_cost.currency': 'usd',
      '_cost.source': 'db_rule',
    });
  });
});

describe('manual cost and revenue', () => {
  it('records cost and revenue on the active span; bad amounts are refused', () => {
    const tracer = trace.getTracer('test');
    tracer.startActiveSpan('checkout', (span) => {
      expect(recordCost(12.5)).toBe(true);
      expect(recordRevenue('-499')).toBe(true);
      expect(recordCost(-1)).toBe(false);
      expect(recordCost(1, 'eur')).toBe(false);
      span.end();
    });
    expect(spansNamed('checkout')[0]?.attributes).toEqual({
      '_cost.amount': '12.5',
      '_cost.currency': 'usd',
      '_cost.source': 'manual',
      '_revenue.amount': '-499',
      '_revenue.currency': 'usd',
    });
    expect(context.active()).toBeDefined();
    expect(recordCost(1)).toBe(false); // no active span
  });
});

describe('never breaks the host app', () => {
  it('keeps spans and results right when every cost rule throws', async () => {
    throwingRules.value = true;
    const res = await withCustomer('acme', () => fetch(`${vendors.url}/v3/mail/send`, { method: 'POST', body: '{}' }));
    expect(res.status).toBe(202);
    const rows = await queryAs('acme', 'SELECT 2 AS two');
    expect(rows.rows).toEqual([{ two: 2 }]);
    const http = exporter.getFinishedSpans().find((s) => s.name === 'POST');
    const db = exporter.getFinishedSpans().find((s) => s.attributes['db.query.text'] === 'SELECT 2 AS two');
    for (const span of [http, db]) {
      expect(span?.attributes['customer.id']).toBe('acme');
      expect(span?.attributes['_cost.amount']).toBeUndefined();
      expect(span?.ended).toBe(true);
    }
    expect(http?.attributes['http.response.status_code']).toBe(202);
  });
});

describe('customer context edge cases', () => {
  it('ignores a missing or empty customer id instead of breaking the request', async () => {
    const tracer = trace.getTracer('test');
    const result = await tracer.startActiveSpan('POST /anonymous', async (span) => {
      setCustomer(undefined);
      setCustomer('');
      const value = await withCustomer('', async () => 42);
      span.end();
      return value;
    });
    expect(result).toBe(42);
    expect(spansNamed('POST /anonymous')[0]?.attributes).toEqual({});
  });
});

describe('customer propagation', () => {
  const outgoingHeaders = (customer: string) =>
    withCustomer(customer, () => {
      const carrier: Record<string, string> = {};
      propagation.inject(context.active(), carrier);
      return carrier;
    });

  it('does not put the customer id in outgoing headers by default', () => {
    expect(outgoingHeaders('acme').baggage).toBeUndefined();
  });

  it('puts it in W3C baggage when opted in, and a downstream service picks it up', () => {
    configureCustomerPropagation(true);
    try {
      const headers = outgoingHeaders('acme');
      expect(headers.baggage).toBe('customer.id=acme');
      // downstream: extract the headers, start a span there; the customer processor reads the baggage
      const downstream = propagation.extract(context.active(), headers);
      trace.getTracer('downstream').startSpan('work', {}, downstream).end();
      expect(spansNamed('work')[0]?.attributes['customer.id']).toBe('acme');
    } finally {
      configureCustomerPropagation(false);
    }
  });
});
