// An existing fastify API, instrumented with costtrace by one flag (`node --import @costtrace/node/register`)
// and one call (`setCustomer`, in a request hook). Its LLM calls (OpenAI, Anthropic), email API calls and
// PostgreSQL queries then carry each customer's cost.
import Anthropic from '@anthropic-ai/sdk';
import { setCustomer } from '@costtrace/node';
import Fastify from 'fastify';
import OpenAI from 'openai';
import pg from 'pg';

const env = process.env;
const openai = new OpenAI({ apiKey: 'sk-example', baseURL: `${env.OPENAI_BASE_URL}/v1`, maxRetries: 0 });
const anthropic = new Anthropic({ apiKey: 'sk-ant-example', baseURL: env.ANTHROPIC_BASE_URL, maxRetries: 0 });
const db = new pg.Pool({ host: env.PGHOST, port: Number(env.PGPORT), user: env.PGUSER, database: 'postgres' });
await db.query('CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, customer text, body text)');

const app = Fastify();
app.addHook('onRequest', async (request) => {
  const customer = request.headers['x-customer-id'];
  if (typeof customer === 'string') setCustomer(customer); // the one line that says who the request is for
});

app.post('/answer', async (request) => {
  const { question, model = 'gpt-4o-mini' } = request.body ?? {};
  const reply = await openai.chat.completions.create({
    model,
    messages: [{ role: 'user', content: String(question) }],
  });
  await db.query('INSERT INTO notes (customer, body) VALUES ($1, $2)', [request.headers['x-customer-id'], 'answer']);
  return { answer: reply.choices[0]?.message.content };
});

app.post('/summarize', async (request) => {
  const message = await anthropic.messages.create({
    model: 'claude-sonnet-4-6',
    max_tokens: 512,
    messages: [{ role: 'user', content: String(request.body?.text ?? '') }],
  });
  const notes = await db.query('SELECT count(*) AS n FROM notes WHERE customer = $1', [
    request.headers['x-customer-id'],
  ]);
  return { summary: message.content[0]?.text, notes: Number(notes.rows[0].n) };
});

app.post('/notify', async () => {
  const res = await fetch(`${env.EMAIL_API_URL}/v3/mail/send`, { method: 'POST', body: '{"to":"user@example.com"}' });
  return { queued: res.status === 202 };
});

app.addHook('onClose', async () => db.end());
const address = await app.listen({ host: '127.0.0.1', port: Number(env.PORT ?? 0) });
process.stdout.write(`shop-api listening on ${address}\n`);
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => app.close().then(() => process.exit(0)));
