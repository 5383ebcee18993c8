/**
 * `npm run example`: starts a costtrace collector, fake LLM/email vendors, a throwaway PostgreSQL and the
 * instrumented shop API (examples/shop-api), drives traffic for several customers, books their revenue
 * through the events API, and prints each customer's costs and profit read back from the collector.
 * `--db FILE` keeps the collector's data (e.g. `--db ./costtrace.duckdb`, then `npm start` to explore it).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openCollector } from '../collector/collector.ts';
import { startFakeVendors } from './support/fake-vendors.ts';
import { startPostgres } from './support/postgres.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const { values } = parseArgs({ options: { db: { type: 'string' }, quiet: { type: 'boolean' } } });
const workDir = mkdtempSync(join(tmpdir(), 'costtrace-example-'));
const dbPath = values.db ? resolve(values.db) : join(workDir, 'example.duckdb');
const log = (line: string) => {
  if (!values.quiet) process.stdout.write(`${line}\n`);
};

const collector = await openCollector({ dbPath, maxBodyBytes: 20 << 20, ingestTokens: [], readTokens: [] });
const collectorUrl = await collector.app.listen({ host: '127.0.0.1', port: 0 });
const vendors = await startFakeVendors();
const postgres = startPostgres();
log(`collector ${collectorUrl} (data: ${dbPath}); fake vendors ${vendors.url}; PostgreSQL on ${postgres.host}`);

const app = spawn(process.execPath, ['--import', '@costtrace/node/register', join(HERE, 'shop-api', 'app.mjs')], {
  cwd: HERE,
  env: {
    ...process.env,
    OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl,
    OTEL_SERVICE_NAME: 'shop-api',
    OTEL_BSP_SCHEDULE_DELAY: '200',
    COSTTRACE_RULES_FILE: join(HERE, 'shop-api', 'costtrace.rules.json'),
    OPENAI_BASE_URL: vendors.url,
    ANTHROPIC_BASE_URL: vendors.url,
    EMAIL_API_URL: vendors.url,
    PGHOST: postgres.host,
    PGPORT: String(postgres.port),
    PGUSER: postgres.user,
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const appUrl = await listeningUrl(app);
log(`shop-api ${appUrl}, instrumented with node --import @costtrace/node/register`);

/** Requests per customer: [path, body, count]. */
const traffic: Record<string, Array<[string, Record<string, string>, number]>> = {
  acme: [
    ['/answer', { question: 'Where is my order?', model: 'gpt-4o-mini' }, 20],
    ['/summarize', { text: 'Quarterly report' }, 4],
    ['/notify', {}, 10],
  ],
  globex: [
    ['/answer', { question: 'Draft a contract', model: 'gpt-4o' }, 40],
    ['/summarize', { text: 'Long legal document' }, 30],
    ['/notify', {}, 25],
  ],
  initech: [
    ['/answer', { question: 'TPS report?', model: 'gpt-4o-mini' }, 8],
    ['/notify', {}, 3],
  ],
  umbrella: [
    ['/answer', { question: 'Free tier question', model: 'gpt-4o' }, 30],
    ['/summarize', { text: 'Research notes' }, 20],
  ],
};
for (const [customer, calls] of Object.entries(traffic)) {
  for (const [path, body, count] of calls) {
    for (let i = 0; i < count; i++) {
      const res = await fetch(`${appUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-customer-id': customer },
        body: JSON.stringify(body),
      });
      if (res.status !== 200) throw new Error(`${path} for ${customer}: ${res.status} ${await res.text()}`);
    }
  }
}
// Revenue comes from billing, as Polar-style events (umbrella is on the free tier; initech got a refund).
const now = new Date().toISOString();
const revenue = (customer: string, amount: number, name = 'order.paid') => ({
  name,
  external_customer_id: customer,
  timestamp: now,
  metadata: { _revenue: { amount, currency: 'usd' } },
});
await post('/v1/events/ingest', {
  events: [
    revenue('acme', 4900),
    revenue('globex', 1900),
    revenue('initech', 1000),
    revenue('initech', -1000, 'order.refunded'),
  ],
});

if (values.db) await backfillHistory();

// Stop the app: its SDK flushes the spans still buffered, and each 2xx from the collector means committed.
app.kill('SIGTERM');
await new Promise((r) => app.once('exit', r));

const today = now.slice(0, 10);
const table = (await get(`/v1/metrics/customers?start_date=${today}&end_date=${today}&sort=profit`)) as {
  items: Array<Record<string, number | string | null>>;
};
const drivers = (await get(`/v1/cost-drivers?start_date=${today}&end_date=${today}&group_by=span_name`)) as {
  groups: Array<{ key: string | null; cost: number; share: number; traces: number }>;
};
log('\nPer-customer cost and profit (cents), least profitable first:');
printTable(
  ['customer', 'revenue', 'costs', 'profit', 'margin', 'ltv', 'cost share'],
  table.items.map((c) => [
    String(c.customer_id),
    fmt(c.revenue),
    fmt(c.costs),
    fmt(c.profit),
    c.margin === null ? '—' : `${(Number(c.margin) * 100).toFixed(1)}%`,
    fmt(c.ltv),
    `${(Number(c.cost_share) * 100).toFixed(1)}%`,
  ]),
);
log('\nWhat drove cost (by span name):');
printTable(
  ['span', 'cost', 'share', 'traces'],
  drivers.groups.map((g) => [String(g.key), fmt(g.cost), `${(g.share * 100).toFixed(1)}%`, String(g.traces)]),
);
if (!values.db) log(`\n(data discarded; run with --db ./costtrace.duckdb to keep it)`);

await collector.close();
await vendors.close();
postgres.stop();
if (!values.db) rmSync(workDir, { recursive: true, force: true });

/**
 * For `npm run demo`: 90 days of history as Polar-style events (daily LLM usage with `_llm` + `_cost`,
 * monthly revenue), so the dashboard's charts have a shape on first run. Deterministic.
 */
async function backfillHistory() {
  const plans: Record<string, { perDay: number; costCents: number; model: string; monthly: number }> = {
    acme: { perDay: 3, costCents: 0.9, model: 'gpt-4o-mini', monthly: 4900 },
    globex: { perDay: 12, costCents: 6.5, model: 'gpt-4o', monthly: 1900 },
    initech: { perDay: 1, costCents: 0.4, model: 'gpt-4o-mini', monthly: 1000 },
    umbrella: { perDay: 8, costCents: 5.2, model: 'claude-sonnet-4-6', monthly: 0 },
  };
  const events: unknown[] = [];
  for (const [customer, plan] of Object.entries(plans)) {
    for (let day = 90; day >= 1; day--) {
      const at = new Date(Date.now() - day * 86_400_000);
      const wobble = 0.6 + ((day * 7 + customer.length * 13) % 10) / 10;
      for (let i = 0; i < plan.perDay; i++) {
        const ts = new Date(at.getTime() + i * 60_000).toISOString();
        events.push({
          name: 'llm.call',
          external_customer_id: customer,
          external_id: `demo-${customer}-${day}-${i}`,
          timestamp: ts,
          metadata: {
            _cost: { amount: (plan.costCents * wobble).toFixed(6), currency: 'usd' },
            _llm: {
              vendor: plan.model.startsWith('claude') ? 'anthropic' : 'openai',
              model: plan.model,
              input_tokens: 1200,
              output_tokens: 300,
              total_tokens: 1500,
            },
          },
        });
      }
      if (plan.monthly > 0 && day % 30 === 0) {
        events.push({
          name: 'order.paid',
          external_customer_id: customer,
          external_id: `demo-${customer}-rev-${day}`,
          timestamp: at.toISOString(),
          metadata: { _revenue: { amount: plan.monthly, currency: 'usd' } },
        });
      }
    }
  }
  for (let i = 0; i < events.length; i += 500) await post('/v1/events/ingest', { events: events.slice(i, i + 500) });
  log(`backfilled ${events.length} events over 90 days`);
}

async function post(path: string, body: unknown) {
  const res = await fetch(`${collectorUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function get(path: string) {
  const res = await fetch(`${collectorUrl}${path}`);
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolveUrl, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolveUrl(m[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`shop-api exited with ${code}`)));
  });
}

function fmt(v: unknown): string {
  return typeof v === 'number' ? v.toFixed(4) : String(v);
}

function printTable(header: string[], rows: string[][]) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  log(line(header));
  for (const r of rows) log(line(r));
}
