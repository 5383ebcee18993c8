/**
 * `npm run bench:query`: 10M cost-bearing records (10k customers, one year, 1M traces, revenue on 2%)
 * generated in DuckDB (with the rollup and per-trace summaries ingest keeps), then six questions timed through the
 * HTTP API (median of BENCH_RUNS, default 7): metrics daily for a year (all customers, and one customer), top 50
 * customers by profit, cost drivers by model (all customers, and one), one customer's most expensive traces, and
 * a year of insights, and meter quantities (two meters defined on the 10M records, the time to define each printed).
 * The same data is copied into a throwaway PostgreSQL 15 and the same questions asked in SQL.
 * Prints one JSON line per question. BENCH_ROWS (default 10,000,000) scales the data; BENCH_SKIP_POSTGRES=1 skips
 * the PostgreSQL side (at 100M rows its load alone takes longer than the rest).
 */
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openCollector } from '../collector/collector.ts';
import { rebuildRollup } from '../collector/derived/rollup.ts';
import { foldAllSettledSpans } from '../collector/derived/trace-summaries.ts';
import { startPostgres } from '../examples/support/postgres.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const CUSTOMERS = 10_000;
const dir = mkdtempSync(join(tmpdir(), 'costtrace-qbench-'));
const dbPath = join(dir, 'bench.duckdb');
/** BENCH_REUSE_DB=path: ask the questions of a store kept by BENCH_KEEP_DB (copied; upgraded if older). */
const reuse = process.env.BENCH_REUSE_DB;
if (reuse) copyFileSync(reuse, dbPath);

function print(o: Record<string, unknown>) {
  process.stdout.write(`${JSON.stringify({ bench: 'query', ...o })}\n`);
}

async function median(fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return Number((times[Math.floor(times.length / 2)] as number).toFixed(1));
}

// ---- data, generated in DuckDB through the collector's own schema ----
const t0 = performance.now();
const MEMORY = process.env.BENCH_DUCKDB_MEMORY ?? '8GB';
const collector = await openCollector({
  dbPath,
  maxBodyBytes: 1 << 20,
  ingestTokens: [],
  readTokens: [],
  duckdbMemoryLimit: MEMORY,
  insightIndexIntervalMs: 3_600_000,
});
/** A reused store is indexed from the collector's start (its start-up run); a generated one after generating. */
const opened = performance.now();
const models = `['gpt-4o','gpt-4o-mini','claude-sonnet-4','claude-haiku-4','gemini-2.5-pro','o3','llama-3.1-70b','mistral-large']`;
if (!reuse)
  await collector.queue.exclusive(async (conn) => {
    await conn.run(`INSERT INTO customers SELECT i + 1, 'cust-' || i, 'Customer ' || i, NULL,
    TIMESTAMP '2025-01-01' + to_days((i % 30)::INTEGER), false FROM range(${CUSTOMERS}) t(i)`);
    await conn.run(`INSERT INTO records
    SELECT 'span', md5((i // 10)::VARCHAR), lpad(to_hex(i), 16, '0'),
      CASE WHEN i % 10 = 0 THEN NULL ELSE lpad(to_hex(i - i % 10), 16, '0') END,
      CASE WHEN i % 10 = 0 THEN 'POST /answer' ELSE 'chat ' || (${models})[(1 + hash(i) % 8)::BIGINT] END,
      2, 'api-' || (hash(i // 10) % 4), 'bench', 0, 0,
      TIMESTAMP '2025-01-01' + to_microseconds(((i // 10) * (31536000000000 // ${ROWS / 10}) + (i % 10) * 1000)::BIGINT),
      0, NULL, NULL, 'cust-' || (hash(i // 10) % ${CUSTOMERS}), false, 'cust-' || (hash(i // 10) % ${CUSTOMERS}),
      (hash(i // 10) % ${CUSTOMERS} + 1)::INTEGER,
      CASE WHEN i % 10 = 0 THEN NULL ELSE (hash(i) % 100000)::DECIMAL(38,12) / 10000 END,
      CASE WHEN i % 10 = 0 THEN NULL ELSE 'provided' END,
      CASE WHEN i % 50 = 0 THEN 5000::DECIMAL(38,12) END,
      CASE WHEN i % 10 = 0 THEN '{}' ELSE '{"gen_ai.usage.input_tokens":' || (hash(i) % 5000) || '}' END,
      TIMESTAMP '2026-01-01',
      CASE WHEN i % 10 = 0 THEN NULL ELSE 'openai' END,
      CASE WHEN i % 10 = 0 THEN NULL ELSE (${models})[(1 + hash(i) % 8)::BIGINT] END,
      NULL, false, NULL
    FROM range(${ROWS}) t(i)`);
    await rebuildRollup(conn);
    await foldAllSettledSpans(conn);
    await conn.run('CHECKPOINT');
  });
print({
  step: reuse ? 'reuse_store' : 'generate_duckdb',
  rows: ROWS,
  seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
});

const address = await collector.app.listen({ host: '127.0.0.1', port: 0 });
const api = async (path: string) => {
  const res = await fetch(`${address}${path}`);
  if (res.status !== 200) throw new Error(`${path} → ${res.status}: ${await res.text()}`);
  return res.json();
};

/** A one-event ingest request every ~100 ms until `done`: how long each waited (ms, sorted). */
async function probeIngestUntil(prefix: string, done: () => Promise<boolean>): Promise<number[]> {
  const waits: number[] = [];
  for (let i = 0; ; i++) {
    const t = performance.now();
    const probe = await fetch(`${address}/v1/events/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        events: [{ name: 'bench.probe', external_customer_id: 'cust-0', external_id: `${prefix}-${i}` }],
      }),
    });
    await probe.arrayBuffer();
    waits.push(performance.now() - t);
    if (await done()) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return waits.sort((a, b) => a - b);
}

const summary = (waits: number[]) => ({
  n: waits.length,
  median: Number((waits[Math.floor(waits.length / 2)] as number).toFixed(1)),
  max: Number((waits.at(-1) as number).toFixed(1)),
});

// Meters, defined on the 10M records: each measures the stored records in chunks (a writer turn each). Printed: the
// time to the 201, the time until it measured everything, and how long a one-event ingest request waited meanwhile.
async function defineMeter(body: { name: string } & Record<string, unknown>): Promise<string> {
  if (reuse) {
    const { items } = (await api('/v1/meters')) as { items: Array<{ id: string; name: string }> };
    return (items.find((m) => m.name === body.name) as { id: string }).id;
  }
  const started = performance.now();
  const res = await fetch(`${address}/v1/meters`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`POST /v1/meters → ${res.status}: ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  const defined = performance.now();
  const waits = await probeIngestUntil(
    `probe-${id}`,
    async () => ((await api(`/v1/meters/${id}`)) as { backfill_complete: boolean }).backfill_complete,
  );
  print({
    step: 'define_meter',
    body,
    seconds_to_201: Number(((defined - started) / 1000).toFixed(2)),
    seconds_to_complete: Number(((performance.now() - started) / 1000).toFixed(2)),
    ingest_probe_ms: summary(waits),
  });
  return id;
}
const tokensMeter = await defineMeter({
  name: 'input tokens',
  aggregation: { func: 'sum', property: 'gen_ai.usage.input_tokens' },
});
const requestsMeter = await defineMeter({
  name: 'answers',
  filter: { span_name: 'POST /answer' },
  aggregation: { func: 'count' },
});

// The insight indexes (features/insights/insight-index.ts) of the year's ended days and months, built as the collector does at
// start and every minute (a writer turn per 7 days or month); timed here, with ingest probed meanwhile.
{
  const started = reuse ? opened : performance.now();
  let indexing = true;
  const run = collector.indexInsights().finally(() => {
    indexing = false;
  });
  const waits = await probeIngestUntil(`probe-index-${Date.now()}`, async () => !indexing);
  await run;
  const metrics = await (await fetch(`${address}/metrics`)).text();
  const indexed = (kind: string) =>
    Number(new RegExp(`costtrace_insight_indexed_periods_total\\{kind="${kind}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
  print({
    step: 'insight_index',
    days: indexed('day'),
    months: indexed('month'),
    seconds: Number(((performance.now() - started) / 1000).toFixed(2)),
    ingest_probe_ms: summary(waits),
  });
}

const questions: Array<{ name: string; path: string; sql?: string }> = [
  {
    name: 'metrics_daily_year_all_customers',
    path: '/v1/metrics?start_date=2025-01-01&end_date=2025-12-31&interval=day',
    sql: `WITH b AS (SELECT date_trunc('day', ts) AS d, sum(revenue_amount) r, sum(cost_amount) c, count(DISTINCT customer_key) u
            FROM records WHERE ts >= '2025-01-01' AND ts < '2026-01-01' GROUP BY 1)
          SELECT (SELECT count(*) FROM b), (SELECT sum(revenue_amount) FROM records WHERE ts < '2025-01-01'),
            (SELECT count(DISTINCT customer_key) FROM records WHERE ts >= '2025-01-01' AND ts < '2026-01-01')`,
  },
  {
    name: 'metrics_daily_year_one_customer',
    path: '/v1/metrics?start_date=2025-01-01&end_date=2025-12-31&interval=day&customer_id=cust-42',
    sql: `WITH b AS (SELECT date_trunc('day', ts) AS d, sum(revenue_amount) r, sum(cost_amount) c, count(DISTINCT customer_key) u
            FROM records WHERE ts >= '2025-01-01' AND ts < '2026-01-01' AND customer_key = 43 GROUP BY 1)
          SELECT (SELECT count(*) FROM b), (SELECT sum(revenue_amount) FROM records WHERE ts < '2025-01-01' AND customer_key = 43)`,
  },
  {
    name: 'customers_top50_by_profit',
    path: '/v1/metrics/customers?start_date=2025-01-01&end_date=2025-12-31&sort=-profit&limit=50',
    sql: `WITH w AS (SELECT customer_key, coalesce(sum(revenue_amount),0) r, coalesce(sum(cost_amount),0) c FROM records
            WHERE ts >= '2025-01-01' AND ts < '2026-01-01' GROUP BY 1),
          l AS (SELECT customer_key, coalesce(sum(revenue_amount),0) - coalesce(sum(cost_amount),0) ltv FROM records
            WHERE ts < '2026-01-01' GROUP BY 1)
          SELECT c.external_id, w.r - w.c AS profit, l.ltv FROM customers c LEFT JOIN w USING (customer_key)
            LEFT JOIN l USING (customer_key) ORDER BY profit DESC NULLS LAST LIMIT 50`,
  },
  {
    name: 'cost_drivers_by_model',
    path: '/v1/cost-drivers?start_date=2025-01-01&end_date=2025-12-31&group_by=model',
    sql: `WITH p AS (SELECT llm_model g, trace_id, sum(cost_amount) c FROM records
            WHERE cost_amount IS NOT NULL AND ts >= '2025-01-01' AND ts < '2026-01-01' GROUP BY 1, 2)
          SELECT g, sum(c), count(*), percentile_disc(0.5) WITHIN GROUP (ORDER BY c),
            percentile_disc(0.9) WITHIN GROUP (ORDER BY c), percentile_disc(0.99) WITHIN GROUP (ORDER BY c)
          FROM p GROUP BY g ORDER BY 2 DESC`,
  },
  {
    name: 'cost_drivers_by_model_one_customer',
    path: '/v1/cost-drivers?start_date=2025-01-01&end_date=2025-12-31&group_by=model&customer_id=cust-42',
    sql: `WITH p AS (SELECT llm_model g, trace_id, sum(cost_amount) c FROM records
            WHERE cost_amount IS NOT NULL AND ts >= '2025-01-01' AND ts < '2026-01-01' AND customer_key = 43 GROUP BY 1, 2)
          SELECT g, sum(c), count(*), percentile_disc(0.5) WITHIN GROUP (ORDER BY c),
            percentile_disc(0.9) WITHIN GROUP (ORDER BY c), percentile_disc(0.99) WITHIN GROUP (ORDER BY c)
          FROM p GROUP BY g ORDER BY 2 DESC`,
  },
  {
    name: 'traces_one_customer_by_cost',
    path: '/v1/traces?customer_id=cust-42&start_date=2025-01-01&end_date=2025-12-31&sort=-cost&limit=50',
    sql: `SELECT trace_id, sum(cost_amount) c, count(*), count(*) OVER () FROM records
          WHERE customer_key = 43 AND ts >= '2025-01-01' AND ts < '2026-01-01'
          GROUP BY trace_id ORDER BY c DESC NULLS LAST, trace_id LIMIT 50`,
  },
  {
    // Its heaviest part in SQL: per-trace costs against the mean of their root name (plus the window totals).
    name: 'insights_year',
    path: '/v1/insights?start_date=2025-01-01&end_date=2025-12-31',
    sql: `WITH t AS (SELECT trace_id, sum(cost_amount) c FROM records
            WHERE ts >= '2025-01-01' AND ts < '2026-01-01' GROUP BY 1 HAVING sum(cost_amount) IS NOT NULL),
          r AS (SELECT trace_id, name FROM records WHERE parent_span_id IS NULL),
          j AS (SELECT t.trace_id, r.name, t.c FROM t LEFT JOIN r USING (trace_id)),
          m AS (SELECT name, sum(c) total, count(*) n FROM j GROUP BY name)
          SELECT j.trace_id, (SELECT sum(cost_amount) FROM records WHERE ts >= '2025-01-01' AND ts < '2026-01-01')
          FROM j JOIN m USING (name) WHERE j.c * m.n >= 3 * m.total ORDER BY j.c DESC LIMIT 20`,
  },
  {
    name: 'insights_month',
    path: '/v1/insights?start_date=2025-12-01&end_date=2025-12-31',
  },
  {
    name: 'meter_sum_daily_year',
    path: `/v1/meters/${tokensMeter}/quantities?start_date=2025-01-01&end_date=2025-12-31&interval=day`,
  },
  {
    name: 'meter_sum_daily_year_kolkata',
    path: `/v1/meters/${tokensMeter}/quantities?start_date=2025-01-01&end_date=2025-12-31&interval=day&timezone=Asia/Kolkata`,
  },
  {
    name: 'meter_count_daily_year_one_customer',
    path: `/v1/meters/${requestsMeter}/quantities?start_date=2025-01-01&end_date=2025-12-31&interval=day&customer_id=cust-42`,
  },
  {
    name: 'customers_top50_with_meter_units',
    path: `/v1/metrics/customers?start_date=2025-01-01&end_date=2025-12-31&sort=-profit&limit=50&meter=${tokensMeter}`,
  },
];

const duck: Record<string, number> = {};
for (const q of questions) duck[q.name] = await median(() => api(q.path));
// Insights when the window holds a day read live (as today always is): Dec 31 un-indexed through the path late data
// takes (one late span of that day, over OTLP), then the year and the month asked again (the indexer's timer is an
// hour: it does not re-index meanwhile).
{
  const lateNs = String(BigInt(Date.UTC(2025, 11, 31, 12)) * 1_000_000n);
  const late = await fetch(`${address}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'customer.id', value: { stringValue: 'cust-0' } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: 'feedfacefeedfacefeedfacefeedface',
                  spanId: 'feedfacefeedface',
                  name: 'late',
                  startTimeUnixNano: lateNs,
                  endTimeUnixNano: lateNs,
                },
              ],
            },
          ],
        },
      ],
    }),
  });
  if (late.status !== 200) throw new Error(`late span → ${late.status}: ${await late.text()}`);
}
for (const q of questions.filter((x) => x.name.startsWith('insights_'))) {
  const name = `${q.name}_with_a_live_day`;
  questions.push({ name, path: q.path });
  duck[name] = await median(() => api(q.path));
}
await collector.close();
// BENCH_KEEP_DB=path keeps the generated store there (to time SQL on it by hand).
if (process.env.BENCH_KEEP_DB) copyFileSync(dbPath, process.env.BENCH_KEEP_DB);

if (process.env.BENCH_SKIP_POSTGRES === '1') {
  for (const q of questions) {
    print({ question: q.name, duckdb_api_ms: duck[q.name], runs: RUNS, rows: ROWS, cpus: cpus().length });
  }
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

// ---- the same rows in PostgreSQL 15 ----
const t1 = performance.now();
const csv = join(dir, 'records.csv');
{
  const again = await openCollector({
    dbPath,
    maxBodyBytes: 1 << 20,
    ingestTokens: [],
    readTokens: [],
    duckdbMemoryLimit: MEMORY,
  });
  await again.queue.exclusive(async (conn) => {
    await conn.run(`COPY (SELECT ts, customer_key, trace_id, cost_amount, revenue_amount, llm_model FROM records)
      TO '${csv}' (HEADER false)`);
    await conn.run(`COPY customers TO '${join(dir, 'customers.csv')}' (HEADER false)`);
  });
  await again.close();
}
rmSync(dbPath, { force: true });
// The server runs as another user and reads the files itself.
chmodSync(dir, 0o755);
chmodSync(csv, 0o644);
chmodSync(join(dir, 'customers.csv'), 0o644);
const server = startPostgres({
  shared_buffers: '2GB',
  work_mem: '256MB',
  max_parallel_workers_per_gather: '2',
  max_wal_size: '8GB',
});
const client = new pg.Client({ host: server.host, port: server.port, user: server.user, database: 'postgres' });
await client.connect();
const pgResults: Record<string, number> = {};
try {
  await client.query(`CREATE UNLOGGED TABLE records (ts timestamp, customer_key int, trace_id text,
    cost_amount numeric(38,12), revenue_amount numeric(38,12), llm_model text)`);
  await client.query(`CREATE UNLOGGED TABLE customers (customer_key int primary key, external_id text, name text,
    email text, created_at timestamp, created_explicitly boolean)`);
  await client.query(`COPY records FROM '${csv}' (FORMAT csv)`);
  await client.query(`COPY customers FROM '${join(dir, 'customers.csv')}' (FORMAT csv)`);
  await client.query('CREATE INDEX ON records (customer_key, ts)');
  await client.query('CREATE INDEX ON records (ts)');
  await client.query('VACUUM ANALYZE');
  print({ step: 'load_postgres', seconds: Number(((performance.now() - t1) / 1000).toFixed(1)) });
  for (const q of questions) if (q.sql) pgResults[q.name] = await median(() => client.query(q.sql as string));
} finally {
  await client.end();
  server.stop();
  rmSync(dir, { recursive: true, force: true });
}

for (const q of questions) {
  const d = duck[q.name] as number;
  const p = pgResults[q.name];
  print({
    question: q.name,
    duckdb_api_ms: d,
    postgres_sql_ms: p ?? null,
    postgres_over_duckdb: p === undefined ? null : Number((p / d).toFixed(1)),
    runs: RUNS,
    rows: ROWS,
    cpus: cpus().length,
  });
}
