/**
 * OTLP/HTTP conformance (docs/otlp-conformance.md lists the cases and the choices made): each case asserts
 * status, content type and the decoded body, against a real collector over real HTTP.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../../helpers/collector.ts';
import { decodeProtoResponse, decodeProtoStatus, protobufRequest } from '../../helpers/otlp.ts';

type Body = NonNullable<RequestInit['body']>;
const MAX_BODY = 64 * 1024;
let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector({ maxBodyBytes: MAX_BODY });
});
afterAll(async () => {
  await c.close();
});

const JSON_CT = 'application/json';
const PB_CT = 'application/x-protobuf';

/** The proto repo's examples/trace.json (upper-case hex ids, string times, kind 2). */
const EXAMPLE_TRACE = {
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'my.service' } }] },
      scopeSpans: [
        {
          scope: {
            name: 'my.library',
            version: '1.0.0',
            attributes: [{ key: 'my.scope.attribute', value: { stringValue: 'some scope attribute' } }],
          },
          spans: [
            {
              traceId: '5B8EFFF798038103D269B633813FC60C',
              spanId: 'EEE19B7EC3C1B174',
              parentSpanId: 'EEE19B7EC3C1B173',
              name: 'I am a span!',
              startTimeUnixNano: '1544712660000000000',
              endTimeUnixNano: '1544712661000000000',
              kind: 2,
              attributes: [{ key: 'my.span.attr', value: { stringValue: 'some value' } }],
            },
          ],
        },
      ],
    },
  ],
};

async function post(body: Body | Buffer, headers: Record<string, string>, path = '/v1/traces') {
  const res = await fetch(`${c.url}${path}`, {
    method: 'POST',
    headers,
    body: body as Body,
    duplex: 'half',
  } as RequestInit);
  const buf = Buffer.from(await res.arrayBuffer());
  return { status: res.status, contentType: res.headers.get('content-type'), body: buf, headers: res.headers };
}
const postJson = (obj: unknown, headers: Record<string, string> = {}) =>
  post(JSON.stringify(obj), { 'content-type': JSON_CT, ...headers });

async function getTrace(traceId: string) {
  const res = await fetch(`${c.url}/v1/traces/${traceId}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function span(traceId: string, spanId: string, attributes: Record<string, unknown> = {}) {
  return {
    traceId,
    spanId,
    name: `s-${spanId}`,
    startTimeUnixNano: '1700000000000000000',
    endTimeUnixNano: '1700000001000000000',
    attributes: Object.entries(attributes).map(([key, value]) => ({ key, value })),
  };
}
const wrap = (spans: unknown[]) => ({ resourceSpans: [{ scopeSpans: [{ spans }] }] });

describe('OTLP/HTTP: accepted requests', () => {
  it('stores examples/trace.json as JSON with lower-cased ids and the exact start time (case 1)', async () => {
    const res = await postJson(EXAMPLE_TRACE);
    expect(res).toMatchObject({ status: 200, contentType: JSON_CT });
    expect(JSON.parse(res.body.toString())).toEqual({});
    const t = await getTrace('5b8efff798038103d269b633813fc60c');
    expect(t.status).toBe(200);
    expect(t.body.spans).toEqual([
      expect.objectContaining({
        span_id: 'eee19b7ec3c1b174',
        parent_span_id: 'eee19b7ec3c1b173',
        name: 'I am a span!',
        service_name: 'my.service',
        start_time_unix_nano: '1544712660000000000',
        start_time: '2018-12-13T14:51:00.000000000Z',
        duration_ms: 1000,
        cost: null,
      }),
    ]);
  });

  it('stores the same request sent as protobuf identically, answering an empty protobuf response (case 2)', async () => {
    const req = structuredClone(EXAMPLE_TRACE);
    const s = req.resourceSpans[0]?.scopeSpans[0]?.spans[0];
    if (!s) throw new Error('fixture');
    s.traceId = '5B8EFFF798038103D269B633813FC60D';
    const res = await post(protobufRequest(req), { 'content-type': PB_CT });
    expect(res).toMatchObject({ status: 200, contentType: PB_CT });
    expect(res.body.length).toBe(0);
    const viaJson = await getTrace('5b8efff798038103d269b633813fc60c');
    const viaProto = await getTrace('5b8efff798038103d269b633813fc60d');
    expect({ ...viaProto.body, trace_id: 'x' }).toEqual({ ...viaJson.body, trace_id: 'x' });
  });

  it.each([
    ['mixed-case hex ids', { traceId: 'aAbBcCdDeEfF00112233445566778899', spanId: '0123456789AbCdEf' }],
    ['snake_case keys', { snake: true }],
    ['unknown fields at every level', { unknown: true }],
    ['kind as enum name', { kind: 'SPAN_KIND_SERVER' }],
    ['times as numbers', { numericTime: true }],
  ])('accepts %s (cases 3–8)', async (_name, variant: Record<string, unknown>) => {
    const traceId =
      (variant.traceId as string) ?? `${'c'.repeat(24)}${Math.random().toString(16).slice(2, 10).padEnd(8, '0')}`;
    const spanId = (variant.spanId as string) ?? '1111111111111111';
    let s: Record<string, unknown> = { ...span(traceId, spanId), kind: variant.kind ?? 1 };
    if (variant.numericTime) s = { ...s, startTimeUnixNano: 1700000000000000000, endTimeUnixNano: 1700000001000000000 };
    let body: Record<string, unknown> = wrap([s]);
    if (variant.snake) {
      body = {
        resource_spans: [
          {
            scope_spans: [
              {
                spans: [
                  {
                    trace_id: traceId,
                    span_id: spanId,
                    name: 'snake',
                    start_time_unix_nano: '1700000000000000000',
                    end_time_unix_nano: '1700000001000000000',
                  },
                ],
              },
            ],
          },
        ],
      };
    }
    if (variant.unknown) {
      body = {
        fooBar: 1,
        resourceSpans: [{ fooBar: {}, scopeSpans: [{ fooBar: [1], spans: [{ ...s, fooBar: 'x' }] }] }],
      };
    }
    const res = await postJson(body);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({});
    const t = await getTrace(traceId.toLowerCase());
    expect(t.status).toBe(200);
    expect((t.body.spans as Array<{ span_id: string }>)[0]?.span_id).toBe(spanId.toLowerCase());
  });

  it.each([
    ['intValue number', { intValue: 3 }, 3],
    ['intValue string', { intValue: '3' }, 3],
    ['doubleValue', { doubleValue: 0.25 }, 0.25],
    ['doubleValue as string', { doubleValue: '1.5' }, 1.5],
    ['stringValue decimal', { stringValue: '0.000001' }, 0.000001],
    ['int64 string at the per-record limit', { intValue: '10000000000000' }, 1e13],
  ])('prices _cost.amount given as %s (cases 6–7)', async (_name, value, expected) => {
    const traceId = `${'d'.repeat(24)}${Math.floor(Math.random() * 2 ** 32)
      .toString(16)
      .padStart(8, '0')}`;
    const res = await postJson(wrap([span(traceId, '2222222222222222', { '_cost.amount': value })]));
    expect(res.status).toBe(200);
    const t = await getTrace(traceId);
    expect(t.body.total_cost).toBe(expected);
  });

  it('reads the exact decimal of a large cost with 12 decimals', async () => {
    const traceId = `${'e'.repeat(31)}1`;
    await postJson(
      wrap([span(traceId, '2222222222222222', { '_cost.amount': { stringValue: '9999999999999.999999999999' } })]),
    );
    const t = await getTrace(traceId);
    expect(t.body.total_cost_exact).toBe('9999999999999.999999999999');
  });

  it('rejects a cost or revenue past the per-record limit, even as an exact unsafe int64, naming the limit', async () => {
    const traceId = `${'e'.repeat(31)}2`;
    const res = await postJson(
      wrap([
        span(traceId, '2222222222222221', { '_cost.amount': { intValue: '9007199254740993' } }),
        span(traceId, '2222222222222222', { '_revenue.amount': { stringValue: '-10000000000000.000000000001' } }),
        span(traceId, '2222222222222223', { '_cost.amount': { intValue: 1 } }),
      ]),
    );
    const parsed = JSON.parse(res.body.toString()) as {
      partialSuccess: { rejectedSpans: string; errorMessage: string };
    };
    expect(parsed.partialSuccess.rejectedSpans).toBe('2');
    expect(parsed.partialSuccess.errorMessage).toContain(
      'span 2222222222222221: _cost.amount exceeds the per-record limit of 10000000000000 cents in absolute value',
    );
    expect(parsed.partialSuccess.errorMessage).toContain('span 2222222222222222: _revenue.amount exceeds');
    expect((await getTrace(traceId)).body.total_cost_exact).toBe('1');
  });

  it.each([
    ['{}', '{}'],
    ['empty resourceSpans', '{"resourceSpans":[]}'],
  ])('answers 200 with no partial success for an empty JSON request: %s (case 11)', async (_n, body) => {
    const res = await post(body, { 'content-type': JSON_CT });
    expect(res).toMatchObject({ status: 200, contentType: JSON_CT });
    expect(JSON.parse(res.body.toString())).toEqual({});
  });

  it('answers 200 to a 0-byte protobuf body (case 11)', async () => {
    const res = await post(Buffer.alloc(0), { 'content-type': PB_CT });
    expect(res).toMatchObject({ status: 200, contentType: PB_CT });
    expect(decodeProtoResponse(res.body)).toBeNull();
  });

  it.each(['APPLICATION/JSON', 'application/json; charset=utf-8'])('accepts media type %s (case 16)', async (ct) => {
    const res = await post('{}', { 'content-type': ct });
    expect(res).toMatchObject({ status: 200, contentType: JSON_CT });
  });

  it('accepts Application/X-Protobuf (case 16)', async () => {
    const res = await post(Buffer.alloc(0), { 'content-type': 'Application/X-Protobuf' });
    expect(res).toMatchObject({ status: 200, contentType: PB_CT });
  });

  it('accepts gzip JSON and gzip protobuf (case 17)', async () => {
    const traceId = `${'f'.repeat(31)}1`;
    const json = wrap([span(traceId, '3333333333333333')]);
    const a = await post(gzipSync(JSON.stringify(json)), { 'content-type': JSON_CT, 'content-encoding': 'gzip' });
    expect(a.status).toBe(200);
    const traceId2 = `${'f'.repeat(31)}2`;
    const pb = protobufRequest(wrap([span(traceId2, '3333333333333333')]));
    const b = await post(gzipSync(pb), { 'content-type': PB_CT, 'content-encoding': 'gzip' });
    expect(b).toMatchObject({ status: 200, contentType: PB_CT });
    expect((await getTrace(traceId)).status).toBe(200);
    expect((await getTrace(traceId2)).status).toBe(200);
  });

  it('accepts a chunked body with no Content-Length, as the JS exporters send (case 20)', async () => {
    const traceId = `${'a'.repeat(31)}9`;
    const bytes = Buffer.from(JSON.stringify(wrap([span(traceId, '4444444444444444')])));
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(bytes.subarray(0, 10));
        controller.enqueue(bytes.subarray(10));
        controller.close();
      },
    });
    const res = await post(stream as unknown as Body, { 'content-type': JSON_CT });
    expect(res.status).toBe(200);
    expect((await getTrace(traceId)).status).toBe(200);
  });

  it('accepts a body of exactly the limit (case 19)', async () => {
    const base = JSON.stringify({ resourceSpans: [] });
    const body = base.slice(0, -1) + ' '.repeat(MAX_BODY - base.length) + base.slice(-1);
    expect(Buffer.byteLength(body)).toBe(MAX_BODY);
    expect((await post(body, { 'content-type': JSON_CT })).status).toBe(200);
  });
});

describe('OTLP/HTTP: partial success', () => {
  it('stores the good spans and reports each rejected one with an English message (cases 9, 10, 22)', async () => {
    const traceId = `${'b'.repeat(31)}1`;
    const body = wrap([
      span(traceId, '5555555555555551', { '_cost.amount': { doubleValue: 1.5 } }),
      span(traceId, '5555555555555552', { '_cost.amount': { stringValue: 'abc' } }),
      span(traceId, '5555555555555553', { '_cost.amount': { doubleValue: -1 } }),
      span(traceId, '5555555555555554', { '_cost.amount': { intValue: 1 }, '_cost.currency': { stringValue: 'eur' } }),
      span('0'.repeat(32), '5555555555555555'),
      span(traceId, '0000000000000000'),
      span(`${'b'.repeat(30)}`, '5555555555555556'),
      span('zz'.repeat(16), '5555555555555557'),
      { ...span(traceId, '5555555555555558'), parentSpanId: 'abc' },
      span(traceId, '5555555555555559', { '_revenue.amount': { doubleValue: -20 } }),
    ]);
    const res = await postJson(body);
    expect(res).toMatchObject({ status: 200, contentType: JSON_CT });
    const parsed = JSON.parse(res.body.toString()) as {
      partialSuccess: { rejectedSpans: string; errorMessage: string };
    };
    expect(parsed.partialSuccess.rejectedSpans).toBe('8');
    const msg = parsed.partialSuccess.errorMessage;
    expect(msg).toMatch(/^8 span\(s\) rejected: /);
    expect(msg).toContain('span 5555555555555552: _cost.amount: "abc" is not a decimal number');
    expect(msg).toContain('span 5555555555555553: _cost.amount must not be negative');
    expect(msg).toContain('_cost.currency EUR: no EUR rate on or before');
    expect(msg).toContain('invalid trace id "00000000000000000000000000000000"');
    expect(msg).toContain('invalid span id "0000000000000000"');
    expect(msg).toContain('and 3 more');
    const t = await getTrace(traceId);
    const ids = (t.body.spans as Array<{ span_id: string }>).map((s) => s.span_id).sort();
    expect(ids).toEqual(['5555555555555551', '5555555555555559']);
    expect(t.body.total_cost).toBe(1.5);
  });

  it('reports partial success in protobuf for a protobuf request', async () => {
    const body = protobufRequest(wrap([span(`${'b'.repeat(31)}2`, '0000000000000000')]));
    const res = await post(body, { 'content-type': PB_CT });
    expect(res).toMatchObject({ status: 200, contentType: PB_CT });
    expect(decodeProtoResponse(res.body)).toEqual({
      rejectedSpans: 1,
      errorMessage:
        '1 span(s) rejected: span 0000000000000000: invalid span id "0000000000000000" (want 16 hex digits, not all zero)',
    });
  });
});

describe('OTLP/HTTP: rejected requests get a google.rpc.Status in the request encoding', () => {
  const jsonStatus = (body: Buffer) => JSON.parse(body.toString()) as { code: number; message: string };

  it.each([
    ['0-byte JSON body', ''],
    ['a number', '1234'],
    ['truncated JSON', '{'],
    ['an array', '[]'],
    ['resourceSpans not an array', '{"resourceSpans":5}'],
    ['traceId not a string', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":5}]}]}]}'],
    ['unknown kind name', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_BOGUS"}]}]}]}'],
  ])('400 for %s (cases 12, 14)', async (_n, body) => {
    const res = await post(body, { 'content-type': JSON_CT });
    expect(res).toMatchObject({ status: 400, contentType: JSON_CT });
    const st = jsonStatus(res.body);
    expect(st.code).toBe(3);
    expect(st.message).toMatch(/^invalid OTLP request: /);
  });

  it.each([
    ['cut mid-varint', Buffer.from([0x0a, 0x80])],
    ['length past the end', Buffer.from([0x0a, 0x05, 0x01])],
    ['wrong wire type for field 1', Buffer.from([0x08, 0x01])],
  ])('400 for protobuf %s (case 13)', async (_n, body) => {
    const res = await post(body, { 'content-type': PB_CT });
    expect(res).toMatchObject({ status: 400, contentType: PB_CT });
    const st = decodeProtoStatus(res.body);
    expect(st.code).toBe(3);
    expect(st.message).toMatch(/^invalid OTLP request: /);
  });

  it.each([
    ['missing', undefined],
    ['text/plain', 'text/plain'],
    ['application/protobuf', 'application/protobuf'],
    ['invalid', 'invalid'],
  ])('415 for Content-Type %s (case 15)', async (_n, ct) => {
    const headers: Record<string, string> = ct ? { 'content-type': ct } : {};
    const res = await post(Buffer.from('{}'), headers);
    expect(res).toMatchObject({ status: 415, contentType: JSON_CT });
    expect(jsonStatus(res.body).message).toBe(
      'unsupported media type, supported: [application/json, application/x-protobuf]',
    );
  });

  it('400 for Content-Encoding gzip with a plain body (case 17)', async () => {
    const res = await post('{}', { 'content-type': JSON_CT, 'content-encoding': 'gzip' });
    expect(res).toMatchObject({ status: 400, contentType: JSON_CT });
    expect(jsonStatus(res.body).message).toMatch(/^invalid gzip body/);
  });

  it('415 for an unsupported Content-Encoding (case 17)', async () => {
    const res = await post(Buffer.alloc(0), { 'content-type': PB_CT, 'content-encoding': 'br' });
    expect(res).toMatchObject({ status: 415, contentType: PB_CT });
    expect(decodeProtoStatus(res.body).message).toBe('unsupported Content-Encoding: br (supported: gzip, identity)');
  });

  it('413 for a body one byte over the limit (case 19)', async () => {
    const res = await post(' '.repeat(MAX_BODY + 1), { 'content-type': JSON_CT });
    expect(res).toMatchObject({ status: 413, contentType: JSON_CT });
    expect(jsonStatus(res.body)).toEqual({ code: 8, message: `request body exceeds the limit of ${MAX_BODY} bytes` });
  });

  it('413 for a decompression bomb: small gzip that inflates past the limit (case 18)', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(MAX_BODY);
    const res = await post(bomb, { 'content-type': JSON_CT, 'content-encoding': 'gzip' });
    expect(res).toMatchObject({ status: 413, contentType: JSON_CT });
  });

  it.each(['PUT', 'PATCH', 'DELETE'])('405 for %s /v1/traces (case 21)', async (method) => {
    const res = await fetch(`${c.url}/v1/traces`, { method, headers: { 'content-type': JSON_CT }, body: '{}' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST');
    expect(await res.json()).toEqual({ code: 12, message: 'method not allowed, supported: [POST]' });
  });

  it.each(['/v1/metrics', '/v1/logs'])('404 with a plain reason for POST %s (case 21)', async (path) => {
    const res = await post('{}', { 'content-type': JSON_CT }, path);
    expect(res).toMatchObject({ status: 404, contentType: JSON_CT });
    expect(jsonStatus(res.body).message).toBe(`costtrace ingests OTLP traces only; POST ${path} is not supported`);
  });

  it('404 for POST /v1/traces/ (case 21)', async () => {
    const res = await post('{}', { 'content-type': JSON_CT }, '/v1/traces/');
    expect(res.status).toBe(404);
  });
});

describe('OTLP/HTTP: attribute edge cases (case 28)', () => {
  it('accepts bytes, kvlists, mixed arrays, empty values and duplicate keys', async () => {
    const traceId = `${'9'.repeat(31)}1`;
    const res = await postJson(
      wrap([
        {
          ...span(traceId, '6666666666666666'),
          attributes: [
            { key: 'http.bytes', value: { bytesValue: 'AAEC' } },
            { key: 'http.kv', value: { kvlistValue: { values: [{ key: 'a', value: { intValue: 1 } }] } } },
            { key: 'http.mixed', value: { arrayValue: { values: [{ stringValue: 'x' }, { intValue: 2 }, {}] } } },
            { key: 'http.empty', value: {} },
            { key: 'http.dup', value: { stringValue: 'first' } },
            { key: 'http.dup', value: { stringValue: 'second' } },
            { key: 'http.strindex', value: { stringValueStrindex: 3 } },
            { key: '_cost', value: { kvlistValue: { values: [{ key: 'amount', value: { stringValue: '0.5' } }] } } },
          ],
        },
      ]),
    );
    expect(res.status).toBe(200);
    const t = await getTrace(traceId);
    const node = (t.body.spans as Array<Record<string, unknown>>)[0];
    expect(node?.cost).toBe(0.5);
    expect(node?.attributes).toEqual({
      'http.bytes': 'AAEC',
      'http.kv': { a: 1 },
      'http.mixed': ['x', 2, null],
      'http.empty': null,
      'http.dup': 'second',
      'http.strindex': null,
    });
  });

  it('stores a re-sent span once', async () => {
    const traceId = `${'9'.repeat(31)}2`;
    const body = wrap([span(traceId, '7777777777777777', { '_cost.amount': { intValue: 5 } })]);
    expect((await postJson(body)).status).toBe(200);
    expect((await postJson(body)).status).toBe(200);
    const t = await getTrace(traceId);
    expect(t.body.span_count).toBe(1);
    expect(t.body.total_cost).toBe(5);
  });
});
