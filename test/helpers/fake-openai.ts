/**
 * A loopback stand-in for api.openai.com speaking OpenAI's real wire shapes: `POST /v1/chat/completions`
 * (JSON, or SSE chunks with `stream: true`, the usage chunk last and only when `stream_options.include_usage`)
 * and `POST /v1/responses` (JSON, or the SSE events `response.created` … `response.completed`). The usage of
 * each answer is set by the test; the answer's `model` is the dated snapshot OpenAI reports.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Token usage of one answer, in OpenAI's terms: `input` INCLUDES `cached`, `output` INCLUDES `reasoning`. */
export interface FakeUsage {
  readonly input: number;
  readonly output: number;
  readonly cached?: number;
  readonly reasoning?: number;
}

export interface FakeOpenAI {
  /** Base URL for the SDKs, ending in `/v1`. */
  readonly url: string;
  /** Bodies of the requests received, in order. */
  readonly requests: Array<{ path: string; body: Record<string, unknown> }>;
  /** The usage every following answer reports. */
  setUsage(usage: FakeUsage): void;
  close(): Promise<void>;
}

/** The dated snapshot OpenAI answers with for an alias. */
export const SNAPSHOTS: Readonly<Record<string, string>> = {
  'gpt-4o-mini': 'gpt-4o-mini-2024-07-18',
  'gpt-4o': 'gpt-4o-2024-08-06',
  'o4-mini': 'o4-mini-2025-04-16',
};

const TEXT = 'Hello there!';
const PIECES = ['Hello', ' there', '!'];
const id = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`;

function chatUsage(u: FakeUsage) {
  return {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    total_tokens: u.input + u.output,
    prompt_tokens_details: { cached_tokens: u.cached ?? 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: u.reasoning ?? 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

function responsesUsage(u: FakeUsage) {
  return {
    input_tokens: u.input,
    input_tokens_details: { cached_tokens: u.cached ?? 0 },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: u.reasoning ?? 0 },
    total_tokens: u.input + u.output,
  };
}

function chat(body: Record<string, unknown>, usage: FakeUsage, res: ServerResponse): void {
  const model = SNAPSHOTS[String(body.model)] ?? String(body.model);
  const base = { id: id('chatcmpl-'), created: Math.floor(Date.now() / 1000), model, service_tier: 'default' };
  const fingerprint = { system_fingerprint: 'fp_0ba0d124f1' };
  if (body.stream !== true) {
    sendJson(res, {
      ...base,
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: TEXT, refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: chatUsage(usage),
      ...fingerprint,
    });
    return;
  }
  const withUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  const nullUsage = withUsage ? { usage: null } : {};
  const chunk = (choices: unknown[], extra: object = nullUsage) => ({
    ...base,
    object: 'chat.completion.chunk',
    ...fingerprint,
    choices,
    ...extra,
  });
  const events: unknown[] = [
    chunk([
      { index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null },
    ]),
    ...PIECES.map((p) => chunk([{ index: 0, delta: { content: p }, logprobs: null, finish_reason: null }])),
    chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]),
  ];
  if (withUsage) events.push(chunk([], { usage: chatUsage(usage) }));
  sendSse(
    res,
    events.map((e) => `data: ${JSON.stringify(e)}\n\n`),
  );
}

function responses(body: Record<string, unknown>, usage: FakeUsage, res: ServerResponse): void {
  const model = SNAPSHOTS[String(body.model)] ?? String(body.model);
  const reasoningModel = /^o\d/.test(model);
  const respId = id('resp_');
  const msgId = id('msg_');
  const part = { type: 'output_text', annotations: [], logprobs: [], text: TEXT };
  const message = { id: msgId, type: 'message', status: 'completed', role: 'assistant', content: [part] };
  const reasoning = { id: id('rs_'), type: 'reasoning', summary: [] };
  const output = reasoningModel ? [reasoning, message] : [message];
  const response = (status: string, done: boolean) => ({
    id: respId,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    model,
    output: done ? output : [],
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: reasoningModel ? 'medium' : null, summary: null },
    service_tier: 'default',
    store: true,
    temperature: 1.0,
    text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: 'auto',
    tools: [],
    top_p: 1.0,
    truncation: 'disabled',
    usage: done ? responsesUsage(usage) : null,
    user: null,
    metadata: {},
  });
  if (body.stream !== true) {
    sendJson(res, response('completed', true));
    return;
  }
  const oi = output.length - 1;
  const events: Array<Record<string, unknown>> = [
    { type: 'response.created', response: response('in_progress', false) },
    { type: 'response.in_progress', response: response('in_progress', false) },
  ];
  if (reasoningModel) {
    events.push(
      { type: 'response.output_item.added', output_index: 0, item: reasoning },
      { type: 'response.output_item.done', output_index: 0, item: reasoning },
    );
  }
  events.push(
    { type: 'response.output_item.added', output_index: oi, item: { ...message, status: 'in_progress', content: [] } },
    {
      type: 'response.content_part.added',
      item_id: msgId,
      output_index: oi,
      content_index: 0,
      part: { ...part, text: '' },
    },
    ...PIECES.map((delta) => ({
      type: 'response.output_text.delta',
      item_id: msgId,
      output_index: oi,
      content_index: 0,
      delta,
      logprobs: [],
    })),
    { type: 'response.output_text.done', item_id: msgId, output_index: oi, content_index: 0, text: TEXT, logprobs: [] },
    { type: 'response.content_part.done', item_id: msgId, output_index: oi, content_index: 0, part },
    { type: 'response.output_item.done', output_index: oi, item: message },
    { type: 'response.completed', response: response('completed', true) },
  );
  sendSse(
    res,
    events.map((e, i) => `event: ${e.type}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`),
  );
}

function sendJson(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': id('req_') });
  res.end(JSON.stringify(body));
}

function sendSse(res: ServerResponse, frames: string[]): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'x-request-id': id('req_') });
  for (const f of frames) res.write(f);
  res.end();
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
}

export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  let usage: FakeUsage = { input: 10, output: 5 };
  const requests: FakeOpenAI['requests'] = [];
  const server = createServer((req, res) => {
    readJson(req).then(
      (body) => {
        const path = (req.url ?? '').split('?')[0] ?? '';
        requests.push({ path, body });
        if (req.method === 'POST' && path === '/v1/chat/completions') chat(body, usage, res);
        else if (req.method === 'POST' && path === '/v1/responses') responses(body, usage, res);
        else {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: `no route ${path}`, type: 'invalid_request_error' } }));
        }
      },
      () => {
        res.writeHead(400);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    setUsage(u) {
      usage = u;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
