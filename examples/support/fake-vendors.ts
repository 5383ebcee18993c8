/**
 * Local stand-ins for internet services (these machines cannot reach them): OpenAI's chat completions,
 * Anthropic's messages and an email vendor, answering with realistic bodies and token usage.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface FakeVendors {
  readonly url: string;
  readonly requests: Array<{ method: string; path: string; body: unknown }>;
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString();
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** What OpenAI answers as the response model: a dated snapshot of the requested one. */
const SNAPSHOTS: Record<string, string> = { 'gpt-4o': 'gpt-4o-2024-08-06', 'gpt-4o-mini': 'gpt-4o-mini-2024-07-18' };

export function openAiCompletion(model: string) {
  return {
    id: 'chatcmpl-fake123',
    object: 'chat.completion',
    created: 1764200000,
    model: SNAPSHOTS[model] ?? model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hello!' }, finish_reason: 'stop', logprobs: null }],
    usage: {
      prompt_tokens: 1200,
      completion_tokens: 300,
      total_tokens: 1500,
      prompt_tokens_details: { cached_tokens: 200, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 100, audio_tokens: 0 },
    },
    system_fingerprint: 'fp_fake',
  };
}

export function anthropicMessage(model: string) {
  return {
    id: 'msg_fake123',
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text: 'Hello!' }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 1000, output_tokens: 250, cache_read_input_tokens: 400, cache_creation_input_tokens: 100 },
  };
}

export async function startFakeVendors(): Promise<FakeVendors> {
  const requests: FakeVendors['requests'] = [];
  const server: Server = createServer(async (req, res) => {
    const body = await readJson(req);
    const path = (req.url ?? '').split('?')[0] as string;
    requests.push({ method: req.method ?? '', path, body });
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (path === '/v1/chat/completions') return send(200, openAiCompletion(String(body.model)));
    if (path === '/v1/messages') return send(200, anthropicMessage(String(body.model)));
    if (path === '/v3/mail/send') return send(202, { id: 'mail_1', status: 'queued' });
    return send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
