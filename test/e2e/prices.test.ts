/**
 * The collector's price book prices spans from the plain OpenTelemetry SDK (no costtrace instrumentation, the
 * official OTLP/protobuf exporter) by their semantic-convention attributes alone — each rule kind, current and
 * older attribute names — with the precedence provided > reported > priced > inferred > unpriced. The book is
 * versioned: loaded from a file, shown by GET /v1/prices, replaced by PUT /v1/prices (admin scope; a bad book
 * is one 422 listing every problem and changes nothing), kept across restarts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { openCollector } from '../../collector/collector.ts';
import { startTestCollector, type TestCollector } from '../helpers/collector.ts';
import { jsonRequest } from '../helpers/otlp.ts';

const dir = mkdtempSync(join(tmpdir(), 'costtrace-prices-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const EXAMPLE = readFileSync(new URL('../../examples/price-book.json', import.meta.url), 'utf8');

interface TraceNode {
  name: string;
  cost_exact: string | null;
  cost_source: string | null;
  price_version: number | null;
  children: TraceNode[];
}

/** Sends one trace of CLIENT spans (name → attributes, duration) under a root; returns the stored nodes by name. */
async function sendTrace(
  c: TestCollector,
  spans: Array<{ name: string; attributes: Record<string, string | number>; ms?: number }>,
  tokens: { ingest?: string; read?: string } = {},
): Promise<Map<string, TraceNode>> {
  const auth = (t: string | undefined): Record<string, string> => (t ? { authorization: `Bearer ${t}` } : {});
  const exporter = new OTLPTraceExporter({ url: `${c.url}/v1/traces`, headers: auth(tokens.ingest) });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'billing-py' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('plain-sdk');
  const start = Date.parse('2026-03-01T12:00:00Z');
  const root = tracer.startSpan('POST /job', {
    kind: SpanKind.SERVER,
    attributes: { 'customer.id': 'acme' },
    startTime: start,
  });
  const ctx = trace.setSpan(context.active(), root);
  for (const s of spans) {
    tracer
      .startSpan(s.name, { kind: SpanKind.CLIENT, attributes: s.attributes, startTime: start }, ctx)
      .end(start + (s.ms ?? 0));
  }
  root.end(start + 1000);
  await provider.forceFlush();
  await provider.shutdown();
  const traceId = root.spanContext().traceId;
  const res = await fetch(`${c.url}/v1/traces/${traceId}`, { headers: auth(tokens.read) });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { spans: TraceNode[] };
  const byName = new Map<string, TraceNode>();
  const walk = (n: TraceNode) => {
    byName.set(n.name, n);
    n.children.forEach(walk);
  };
  body.spans.forEach(walk);
  return byName;
}

describe('the price book prices plain OpenTelemetry spans', () => {
  let c: TestCollector;
  afterAll(async () => c?.close());

  it('prices each rule kind from semconv attributes, with the precedence of §8', async () => {
    const file = join(dir, 'book.json');
    writeFileSync(file, EXAMPLE);
    c = await startTestCollector({ pricesFile: file, decodeWorkers: 1 });
    const nodes = await sendTrace(c, [
      // model: a fine-tuned model by prefix, cached input at its own rate (600 × 0.30 + 400 × 0.15 + 100 × 1.2 µUSD)
      {
        name: 'chat ft',
        attributes: {
          'gen_ai.provider.name': 'openai',
          'gen_ai.request.model': 'ft:gpt-4o-mini:acme:2026',
          'gen_ai.usage.input_tokens': 1000,
          'gen_ai.usage.cache_read.input_tokens': 400,
          'gen_ai.usage.output_tokens': 100,
        },
      },
      // HTTP with the older attribute names (http.method, http.url)
      { name: 'sendgrid', attributes: { 'http.method': 'POST', 'http.url': 'https://api.sendgrid.com/v3/mail/send' } },
      // DB with db.system.name and a 25 ms SELECT at 0.0001 cents per ms
      { name: 'select', attributes: { 'db.system.name': 'postgresql', 'db.operation.name': 'SELECT' }, ms: 25 },
      // DB with the older db.system and a statement: per query
      { name: 'insert', attributes: { 'db.system': 'postgresql', 'db.statement': 'INSERT INTO t VALUES (1)' } },
      // span rule by name, per ms
      { name: 'render_pdf', attributes: {}, ms: 1500 },
      // span rule by attribute
      { name: 'transcode', attributes: { 'job.queue': 'video' } },
      // precedence: the app's own _cost wins over the book
      {
        name: 'sendgrid provided',
        attributes: {
          'http.request.method': 'POST',
          'server.address': 'api.sendgrid.com',
          'url.path': '/v3/mail/send',
          '_cost.amount': '0.5',
        },
      },
      // a cost the provider reported wins over the book (USD → cents)
      {
        name: 'chat reported',
        attributes: {
          'gen_ai.request.model': 'ft:gpt-4o-mini:x',
          'gen_ai.usage.input_tokens': 10,
          'gen_ai.usage.cost': 0.0123,
        },
      },
      // not in the book: the bundled table prices a known model; an unknown one is unpriced
      {
        name: 'chat bundled',
        attributes: {
          'gen_ai.provider.name': 'openai',
          'gen_ai.request.model': 'gpt-4o',
          'gen_ai.usage.input_tokens': 1000,
          'gen_ai.usage.output_tokens': 0,
        },
      },
      { name: 'chat unknown', attributes: { 'gen_ai.request.model': 'my-model', 'gen_ai.usage.input_tokens': 10 } },
      { name: 'unpriced http', attributes: { 'http.request.method': 'GET', 'server.address': 'example.org' } },
    ]);
    const got = (name: string) => {
      const n = nodes.get(name);
      return n && { cost: n.cost_exact, source: n.cost_source, version: n.price_version };
    };
    expect(got('chat ft')).toEqual({ cost: '0.036', source: 'priced', version: 1 });
    expect(got('sendgrid')).toEqual({ cost: '0.1', source: 'priced', version: 1 });
    expect(got('select')).toEqual({ cost: '0.0025', source: 'priced', version: 1 });
    expect(got('insert')).toEqual({ cost: '0.0002', source: 'priced', version: 1 });
    expect(got('render_pdf')).toEqual({ cost: '3', source: 'priced', version: 1 });
    expect(got('transcode')).toEqual({ cost: '1.5', source: 'priced', version: 1 });
    expect(got('sendgrid provided')).toEqual({ cost: '0.5', source: 'provided', version: null });
    expect(got('chat reported')).toEqual({ cost: '1.23', source: 'reported', version: null });
    expect(got('chat bundled')).toMatchObject({ source: 'inferred', version: null });
    expect(Number(got('chat bundled')?.cost)).toBeGreaterThan(0);
    expect(got('chat unknown')).toEqual({ cost: null, source: 'unpriced', version: null });
    expect(got('unpriced http')).toEqual({ cost: null, source: null, version: null });
  });

  it('shows the book in force, and keeps the version when the same file is loaded again', async () => {
    const shown = await (await fetch(`${c.url}/v1/prices`)).json();
    expect(shown).toMatchObject({ version: 1, origin: 'file', book: JSON.parse(EXAMPLE) });
    await c.close(false);
    c = await startTestCollector({ dbPath: c.dbPath, pricesFile: join(dir, 'book.json') });
    expect(await (await fetch(`${c.url}/v1/prices`)).json()).toMatchObject({ version: 1, origin: 'file' });
  });

  it('replaces the book through PUT (admin scope); new spans are priced with the new version', async () => {
    await c.close(false);
    c = await startTestCollector({ dbPath: c.dbPath, adminTokens: ['adm'], ingestTokens: ['ing'], readTokens: ['rd'] });
    // Without a file, the latest stored book stays in force.
    const read = { authorization: 'Bearer rd' };
    expect(await (await fetch(`${c.url}/v1/prices`, { headers: read })).json()).toMatchObject({ version: 1 });
    const book = { spans: [{ name: 'render_pdf', cents_per_span: '7' }] };
    const put = (token: string, body: unknown) =>
      fetch(`${c.url}/v1/prices`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await put('rd', book)).status).toBe(403);
    expect((await put('nope', book)).status).toBe(401);
    const bad = await put('adm', { models: [{ model: 'x', input_usd_per_mtok: '-1' }], fx: [{ currency: 'EUR' }] });
    expect(bad.status).toBe(422);
    const detail = ((await bad.json()) as { detail: Array<{ loc: unknown[] }> }).detail.map((d) => d.loc.join('.'));
    expect(detail).toEqual(
      expect.arrayContaining(['body.models.0.output_usd_per_mtok', 'body.fx.0.date', 'body.fx.0.usd_per_unit']),
    );
    expect(await (await fetch(`${c.url}/v1/prices`, { headers: read })).json()).toMatchObject({ version: 1 });
    const ok = await put('adm', book);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ version: 2, origin: 'api', book });
    const nodes = await sendTrace(c, [{ name: 'render_pdf', attributes: {}, ms: 1500 }], { ingest: 'ing', read: 'rd' });
    expect(nodes.get('render_pdf')).toMatchObject({ cost_exact: '7', cost_source: 'priced', price_version: 2 });
    await c.close(false);
  });

  it('refuses to start with a bad book file, listing every problem', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ http: [{ host: 'a', cents_per_request: 'x' }], db: [{ cents_per_hour: 1 }] }));
    await expect(
      openCollector({
        dbPath: join(dir, 'bad.duckdb'),
        maxBodyBytes: 1 << 20,
        ingestTokens: [],
        readTokens: [],
        pricesFile: bad,
      }),
    ).rejects.toThrow(
      /the price book .*bad\.json has 2 problem\(s\):\n {2}http\.0\.cents_per_request: must be a number or a decimal string\n {2}db\.0\.cents_per_hour: must NOT have additional properties/,
    );
  });
});

describe('other currencies', () => {
  it('converts non-USD _cost of spans and events with the rate for that day, exactly, keeping the original', async () => {
    const file = join(dir, 'fx-book.json');
    writeFileSync(file, EXAMPLE); // EUR: 1.0842 from 2026-01-01, 1.0791 from 2026-02-01
    const c = await startTestCollector({ pricesFile: file, nowMicros: () => BigInt(Date.parse('2026-03-02')) * 1000n });
    try {
      const traceId = 'fe'.repeat(16);
      const span = (id: number, day: string, currency: string) => ({
        traceId,
        spanId: id.toString(16).padStart(16, '0'),
        ...(id === 1 ? {} : { parentSpanId: '0000000000000001' }),
        name: `cost ${id}`,
        startTimeUnixNano: String(BigInt(Date.parse(`${day}T10:00:00Z`)) * 1_000_000n),
        endTimeUnixNano: String(BigInt(Date.parse(`${day}T10:00:01Z`)) * 1_000_000n),
        attributes: { 'customer.id': 'acme', '_cost.amount': '10', '_cost.currency': currency },
      });
      const res = await fetch(`${c.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(
          jsonRequest([
            span(1, '2026-03-01', 'eur'),
            span(2, '2026-01-31', 'EUR'),
            span(3, '2025-12-31', 'eur'),
            span(4, '2026-03-01', 'gbp'),
          ]),
        ),
      });
      const partial = (await res.json()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
      expect(partial.partialSuccess.rejectedSpans).toBe('2');
      expect(partial.partialSuccess.errorMessage).toContain(
        'span 0000000000000003: _cost.currency EUR: no EUR rate on or before 2025-12-31 in the price book',
      );
      expect(partial.partialSuccess.errorMessage).toContain('span 0000000000000004: _cost.currency GBP: no GBP rate');
      const tree = (await (await fetch(`${c.url}/v1/traces/${traceId}`)).json()) as {
        total_cost_exact: string;
        spans: Array<TraceNode & { attributes: Record<string, unknown> }>;
      };
      const root = tree.spans[0] as TraceNode & { attributes: Record<string, unknown> };
      expect(root).toMatchObject({ cost_exact: '10.791', cost_source: 'provided', price_version: 1 });
      expect(root.attributes).toMatchObject({
        '_cost.original_amount': '10',
        '_cost.original_currency': 'EUR',
        '_cost.usd_per_unit': '1.0791',
      });
      expect(root.children[0]).toMatchObject({ cost_exact: '10.842' });
      expect(tree.total_cost_exact).toBe('21.633');

      const events = (currency: string) =>
        fetch(`${c.url}/v1/events/ingest`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            events: [
              {
                name: 'gpu.minutes',
                external_customer_id: 'acme',
                external_id: `gpu-${currency}`,
                timestamp: '2026-01-20T08:00:00Z',
                metadata: { _cost: { amount: '100.000000000005', currency } },
              },
            ],
          }),
        });
      expect((await events('eur')).status).toBe(200);
      const refused = await events('gbp');
      expect(refused.status).toBe(422);
      expect(((await refused.json()) as { detail: Array<{ loc: unknown[]; msg: string }> }).detail).toEqual([
        expect.objectContaining({
          loc: ['body', 'events', 0, 'metadata', '_cost', 'currency'],
          msg: 'no GBP rate on or before 2026-01-20 in the price book',
        }),
      ]);
      // 100.000000000005 EUR-cents × 1.0842 = 108.420000000005421 → 12 decimals, half-even: 108.420000000005
      const customers = (await (
        await fetch(`${c.url}/v1/metrics/customers?start_date=2026-01-20&end_date=2026-01-20`)
      ).json()) as { items: Array<{ customer_id: string; costs_exact: string }> };
      expect(customers.items.find((i) => i.customer_id === 'acme')?.costs_exact).toBe('108.420000000005');
    } finally {
      await c.close();
    }
  });
});

describe('re-pricing', () => {
  const NOW = () => BigInt(Date.parse('2026-03-10T00:00:00Z')) * 1000n;
  const book = {
    models: [{ model: 'my-finetune', input_usd_per_mtok: '2', output_usd_per_mtok: '8' }],
    http: [{ host: 'api.vendor.example', cents_per_request: '0.25' }],
    // Re-pricing sees the attributes a span was stored with (the kept prefixes, plus keys the book in force at
    // ingest filtered on): a rule by name re-prices any span.
    spans: [{ name: 'op 6', cents_per_span: '1.5' }],
  };
  const at = (day: string, s: number) => String(BigInt(Date.parse(`${day}T09:00:00Z`) + s * 1000) * 1_000_000n);
  const spansOf = (t: number) => {
    const traceId = (0xa0 + t).toString(16).repeat(16);
    const day = `2026-03-0${1 + (t % 3)}`;
    const child = (id: number, attributes: Record<string, string | number>, parent = 1) => ({
      traceId,
      spanId: id.toString(16).padStart(16, '0'),
      parentSpanId: parent.toString(16).padStart(16, '0'),
      name: `op ${id}`,
      startTimeUnixNano: at(day, id),
      endTimeUnixNano: at(day, id + 1),
      attributes,
    });
    return [
      {
        traceId,
        spanId: '0000000000000001',
        name: 'POST /job',
        startTimeUnixNano: at(day, 0),
        endTimeUnixNano: at(day, 9),
        attributes: { 'customer.id': t % 2 === 0 ? 'acme' : 'globex' },
      },
      child(2, { 'http.request.method': 'POST', 'server.address': 'api.vendor.example' }),
      child(3, {
        'gen_ai.request.model': 'my-finetune',
        'gen_ai.usage.input_tokens': 1000 + t,
        'gen_ai.usage.output_tokens': 10,
      }),
      child(4, {
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 100,
      }),
      child(5, { '_cost.amount': '0.7', 'http.request.method': 'POST', 'server.address': 'api.vendor.example' }),
      child(6, { 'job.queue': 'video', 'job.priority': 1 }),
      // a child whose parent never arrives: pending, read live
      child(7, { 'http.request.method': 'GET', 'server.address': 'api.vendor.example' }, 99),
    ];
  };
  const questions = [
    '/v1/metrics?start_date=2026-03-01&end_date=2026-03-05&interval=day',
    '/v1/metrics/customers?start_date=2026-03-01&end_date=2026-03-05',
    '/v1/cost-drivers?start_date=2026-03-01&end_date=2026-03-05&group_by=model',
    '/v1/cost-drivers?start_date=2026-03-01&end_date=2026-03-05&group_by=vendor',
    '/v1/cost-drivers?start_date=2026-03-01&end_date=2026-03-05&group_by=root_name&customer_id=acme',
    '/v1/traces?sort=-cost&limit=100',
    `/v1/traces/${'a0'.repeat(16)}`,
    `/v1/traces/${'a1'.repeat(16)}`,
  ];
  const ask = async (c: TestCollector, headers: Record<string, string> = {}) => {
    const out: Record<string, unknown> = {};
    for (const q of questions) out[q] = await (await fetch(`${c.url}${q}`, { headers })).json();
    return out;
  };
  const send = async (c: TestCollector) => {
    const spans = [0, 1, 2, 3, 4, 5].flatMap(spansOf);
    const res = await fetch(`${c.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(jsonRequest(spans)),
    });
    expect(res.status).toBe(200);
  };

  it('re-prices past spans exactly as if the book had priced them at ingest, and only once', async () => {
    const file = join(dir, 'reprice-book.json');
    writeFileSync(file, JSON.stringify(book));
    const reference = await startTestCollector({ pricesFile: file, nowMicros: NOW });
    const later = await startTestCollector({ nowMicros: NOW });
    try {
      await send(reference);
      await send(later);
      const before = await ask(later);
      expect(before).not.toEqual(await ask(reference));
      const put = await fetch(`${later.url}/v1/prices`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(book),
      });
      expect(put.status).toBe(200);
      const reprice = () =>
        fetch(`${later.url}/v1/prices/reprice`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ start_date: '2026-03-01', end_date: '2026-03-31' }),
        }).then(async (r) => ({ status: r.status, body: await r.json() }));
      // per trace, 6 examined (not the provided one), 4 change: http 0.25, the pending http 0.25, the model
      // (1000 + t) × 2 + 10 × 8 µUSD, op 6 1.5 (gpt-4o stays with the bundled table)
      const first = (await reprice()) as { status: number; body: { delta_cents_exact: string } };
      expect(first).toMatchObject({ status: 200, body: { records: 36, changed: 24 } });
      const modelCents = [0, 1, 2, 3, 4, 5].reduce((sum, t) => sum + ((1000 + t) * 2 + 80) / 10_000, 0);
      expect(Number(first.body.delta_cents_exact)).toBeCloseTo(6 * (0.25 + 0.25 + 1.5) + modelCents, 9);
      expect(await ask(later)).toEqual(await ask(reference));
      expect(await reprice()).toMatchObject({ status: 200, body: { records: 36, changed: 0, delta_cents_exact: '0' } });
      const bad = await fetch(`${later.url}/v1/prices/reprice`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ start_date: '2026-03-31', end_date: '2026-03-01' }),
      });
      expect(bad.status).toBe(422);
      const badDay = await fetch(`${later.url}/v1/prices/reprice`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ start_date: '2026-02-30', end_date: '2026-03-01' }),
      });
      expect(((await badDay.json()) as { detail: Array<{ loc: string[] }> }).detail[0]?.loc).toEqual([
        'body',
        'start_date',
      ]);
    } finally {
      await reference.close();
      await later.close();
    }
  });
});
