/**
 * A loopback Anthropic Messages API: `POST /v1/messages` answers with the real JSON shape, or with the real SSE
 * event sequence when the body has `stream: true` (`message_start` carrying the input-side usage, `content_block_*`,
 * `ping`, `message_delta` carrying `usage.output_tokens`, `message_stop`). The usage of each answer is chosen by
 * the text of the request's first user message (a scenario key), so concurrent callers get their own numbers.
 * As on the real API, `input_tokens` excludes cache reads and cache writes.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Anthropic's `usage` object; `null` answers with no `usage` at all. */
export interface AnthropicUsage {
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly cache_creation_input_tokens?: number;
  readonly cache_read_input_tokens?: number;
}

export interface FakeAnthropic {
  readonly url: string;
  /** Every request body received, in order. */
  readonly requests: Record<string, unknown>[];
  close(): Promise<void>;
}

export interface FakeAnthropicOptions {
  /** Usage by scenario key (the first user message's text); `null` = an answer without usage. */
  readonly usage?: Readonly<Record<string, AnthropicUsage | null>>;
  /** Usage when the key is not in `usage`. */
  readonly defaultUsage?: AnthropicUsage;
}

export const REPLY_TEXT = 'Hello from the fake Anthropic API!';

/** The text of the first user message: a plain string or the first text block. */
export function scenarioKey(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? (body.messages as { role?: string; content?: unknown }[]) : [];
  const content = messages.find((m) => m.role === 'user')?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    const text = (content as { type?: string; text?: unknown }[]).find((b) => b.type === 'text')?.text;
    if (typeof text === 'string') return text;
  }
  return '';
}

function fullUsage(u: AnthropicUsage): Record<string, unknown> {
  const write = u.cache_creation_input_tokens ?? 0;
  return {
    input_tokens: u.input_tokens,
    cache_creation_input_tokens: write,
    cache_read_input_tokens: u.cache_read_input_tokens ?? 0,
    cache_creation: { ephemeral_5m_input_tokens: write, ephemeral_1h_input_tokens: 0 },
    output_tokens: u.output_tokens,
    service_tier: 'standard',
  };
}

let nextId = 1;

function message(model: string, usage: AnthropicUsage | null, streaming: boolean): Record<string, unknown> {
  const id = `msg_fake${String(nextId++).padStart(6, '0')}`;
  const base: Record<string, unknown> = {
    id,
    type: 'message',
    role: 'assistant',
    model,
    content: streaming ? [] : [{ type: 'text', text: REPLY_TEXT }],
    stop_reason: streaming ? null : 'end_turn',
    stop_sequence: null,
  };
  if (usage) {
    const u = fullUsage(usage);
    // message_start reports the input side and a provisional output count, as the real API does.
    base.usage = streaming ? { ...u, output_tokens: 1 } : u;
  }
  return base;
}

function sse(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function stream(res: ServerResponse, model: string, usage: AnthropicUsage | null): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': 'req_fake' });
  sse(res, 'message_start', { type: 'message_start', message: message(model, usage, true) });
  sse(res, 'content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
  sse(res, 'ping', { type: 'ping' });
  const half = Math.floor(REPLY_TEXT.length / 2);
  for (const text of [REPLY_TEXT.slice(0, half), REPLY_TEXT.slice(half)]) {
    sse(res, 'content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } });
  }
  sse(res, 'content_block_stop', { type: 'content_block_stop', index: 0 });
  sse(res, 'message_delta', {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    ...(usage ? { usage: { output_tokens: usage.output_tokens } } : {}),
  });
  sse(res, 'message_stop', { type: 'message_stop' });
  res.end();
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const requests: Record<string, unknown>[] = [];
  const defaultUsage = options.defaultUsage ?? { input_tokens: 10, output_tokens: 5 };
  const server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const path = (req.url ?? '').split('?')[0];
      if (req.method !== 'POST' || path !== '/v1/messages') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'Not found' } }));
        return;
      }
      const body = JSON.parse(raw) as Record<string, unknown>;
      requests.push(body);
      const key = scenarioKey(body);
      const usage = options.usage && key in options.usage ? (options.usage[key] ?? null) : defaultUsage;
      const model = typeof body.model === 'string' ? body.model : 'claude-sonnet-4-20250514';
      if (body.stream === true) {
        stream(res, model, usage);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'request-id': 'req_fake' });
      res.end(JSON.stringify(message(model, usage, false)));
    })().catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: String(err) } }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
