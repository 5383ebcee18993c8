/**
 * The dashboard in a real headless browser (Debian's chromium driven by playwright-core) against a collector
 * filled with known data: the numbers shown equal the API's, sorting and drill-down navigate, no console
 * errors. Screenshots go to artifacts/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
// The display rules under test, used to state what the page must show for the API's numbers.
import { money } from '../../collector/dashboard/public/format.js';
import { startTestCollector, type TestCollector } from '../helpers/collector.ts';
import { post, put } from '../helpers/http.ts';
import { meterBackfilled } from '../helpers/meters.ts';
import { jsonRequest } from '../helpers/otlp.ts';

const SHOTS = 'artifacts/screenshots';
const TOKEN = 'dash-read-token';
let c: TestCollector;
let browser: Browser;
let page: Page;
let problems: string[] = [];

const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000);
const iso = (d: Date) => d.toISOString();
const TRACE_ID = 'beefbeefbeefbeefbeefbeefbeefbeef';

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  c = await startTestCollector();
  const ev = (customer: string, day: number, meta: Record<string, unknown>, name = 'usage') => ({
    name,
    external_customer_id: customer,
    timestamp: iso(daysAgo(day)),
    metadata: meta,
  });
  const cost = (amount: number, model = 'gpt-4o') => ({
    _cost: { amount, currency: 'usd' },
    _llm: { vendor: 'openai', model, input_tokens: 10, output_tokens: 5, total_tokens: 15 },
  });
  expect(
    (
      await post(`${c.url}/v1/events/ingest`, {
        events: [
          ev('alpha', 5, { _revenue: { amount: 10000, currency: 'usd' } }, 'order.paid'),
          ev('alpha', 4, cost(200)),
          ev('beta', 4, cost(300, 'claude-sonnet-4-6')),
          ev('beta', 3, cost(200)),
          ev('gamma', 3, { _revenue: { amount: 300, currency: 'usd' } }, 'order.paid'),
          ev('gamma', 2, cost(100, 'gpt-4o-mini')),
        ],
      })
    ).status,
  ).toBe(200);
  expect(
    (await post(`${c.url}/v1/customers`, { external_id: 'beta', name: 'Beta Corp', created_at: iso(daysAgo(10)) }))
      .status,
  ).toBe(200);
  const start = BigInt(daysAgo(2).getTime()) * 1_000_000n;
  const at = (ms: number) => String(start + BigInt(ms) * 1_000_000n);
  expect(
    (
      await post(
        `${c.url}/v1/traces`,
        jsonRequest([
          {
            traceId: TRACE_ID,
            spanId: 'a000000000000001',
            name: 'POST /report',
            startTimeUnixNano: at(0),
            endTimeUnixNano: at(900),
            attributes: { 'customer.id': 'beta' },
          },
          {
            traceId: TRACE_ID,
            spanId: 'a000000000000002',
            parentSpanId: 'a000000000000001',
            name: 'chat gpt-4o',
            startTimeUnixNano: at(100),
            endTimeUnixNano: at(500),
            attributes: { '_cost.amount': 40 },
          },
          {
            traceId: TRACE_ID,
            spanId: 'a000000000000003',
            parentSpanId: 'a000000000000001',
            name: 'chat my-finetune',
            startTimeUnixNano: at(500),
            endTimeUnixNano: at(800),
            attributes: {
              'gen_ai.request.model': 'my-finetune',
              'gen_ai.usage.input_tokens': 100,
              'gen_ai.usage.output_tokens': 10,
            },
          },
        ]),
      )
    ).status,
  ).toBe(200);
  // a span nobody can be given: unattributed cost
  expect(
    (
      await post(
        `${c.url}/v1/traces`,
        jsonRequest(
          [
            {
              traceId: 'cafecafecafecafecafecafecafecafe',
              spanId: 'b000000000000001',
              name: 'cron',
              startTimeUnixNano: at(0),
              endTimeUnixNano: at(10),
              attributes: { '_cost.amount': 7 },
            },
          ],
          {},
        ),
      )
    ).status,
  ).toBe(200);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await c?.close();
});

async function open(hash: string, url = c.url): Promise<Page> {
  problems = [];
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${url}/${hash}`);
  return page;
}

afterEach(async () => {
  await page?.close();
  expect(problems).toEqual([]);
});

// biome-ignore lint/suspicious/noExplicitAny: API bodies are checked field by field below.
const api2 = async (base: string, path: string): Promise<any> => (await fetch(`${base}${path}`)).json();
const api = (path: string) => api2(c.url, path);

const window30 = () => `start_date=${iso(daysAgo(29)).slice(0, 10)}&end_date=${iso(new Date()).slice(0, 10)}`;

async function card(testId: string) {
  const el = page.getByTestId(testId);
  await el.waitFor();
  return { value: Number(await el.getAttribute('data-value')), text: (await el.locator('.value').textContent()) ?? '' };
}

describe('dashboard', () => {
  it('overview: totals and unattributed cost equal the API', async () => {
    await open('#/');
    const m = await api(`/v1/metrics?${window30()}&interval=day`);
    const customers = await api(`/v1/metrics/customers?${window30()}`);
    const totals = m.totals as Record<string, number>;
    for (const [id, value] of [
      ['total-revenue', totals.revenue],
      ['total-costs', totals.costs],
      ['total-profit', totals.cashflow],
      ['unattributed', customers.unattributed_costs],
    ] as const) {
      const shown = await card(id);
      expect(shown.value).toBe(value);
      expect(shown.text).toBe(money(value));
    }
    expect(totals.costs).toBe(847); // 800 from events + 40 in the trace + 7 unattributed
    expect(customers.unattributed_costs).toBe(7);
    await page.getByTestId('overview-chart').locator('canvas').waitFor();
    await page.screenshot({ path: `${SHOTS}/overview.png`, fullPage: true });
  });

  it('overview: the price book in use and the unpriced models, as the API lists them', async () => {
    await open('#/');
    const book = page.getByTestId('price-book');
    await book.waitFor();
    expect(await book.getAttribute('data-version')).toBe(String((await api('/v1/prices')).version));
    expect(await book.textContent()).toContain('No price book');
    const unpriced = (await api(`/v1/prices/unpriced?${window30()}`)).items as Array<{ model: string; spans: number }>;
    expect(unpriced).toEqual([expect.objectContaining({ model: 'my-finetune', vendor: null, spans: 1 })]);
    const rows = page.getByTestId('unpriced').locator('tbody tr');
    await rows.first().waitFor();
    expect(
      await rows.evaluateAll((r) => r.map((x) => [x.getAttribute('data-model'), x.lastElementChild?.textContent])),
    ).toEqual(unpriced.map((u) => [u.model, String(u.spans)]));
    expect(await page.locator('.pricing .hint').textContent()).toContain('"model":"my-finetune"');
  });

  it('customers: API order, losses highlighted, sorting and search', async () => {
    await open('#/customers');
    const table = page.getByTestId('customers');
    await table.waitFor();
    const order = () =>
      table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-customer')));
    const byApi = async (sort: string) =>
      ((await api(`/v1/metrics/customers?${window30()}&sort=${sort}`)).items as Array<{ customer_id: string }>).map(
        (i) => i.customer_id,
      );
    expect(await order()).toEqual(await byApi('profit'));
    expect(await order()).toEqual(['beta', 'gamma', 'alpha']);
    await expect(table.locator('tr[data-customer=beta]').getAttribute('class')).resolves.toBe('loss');
    const betaCosts = table.locator('tr[data-customer=beta] td[data-col=costs]');
    expect(Number(await betaCosts.getAttribute('data-value'))).toBe(540);
    expect(await betaCosts.textContent()).toBe(money(540));
    await table.locator('th[data-sort=costs]').click();
    await page.waitForFunction("document.querySelector('th[data-sort=costs]')?.textContent?.includes('▼')");
    const want = (await byApi('-costs')).join();
    await page.waitForFunction(
      `[...document.querySelectorAll('[data-testid=customers] tbody tr')].map((r) => r.getAttribute('data-customer')).join() === ${JSON.stringify(want)}`,
    );
    await page.screenshot({ path: `${SHOTS}/customers.png`, fullPage: true });
    await page.getByTestId('search').fill('gam');
    await page.waitForFunction("document.querySelectorAll('[data-testid=customers] tbody tr').length === 1");
    expect(await order()).toEqual(['gamma']);
  });

  it('drill-down: customer page (LTV, drivers, traces) → trace waterfall with unpriced spans flagged', async () => {
    await open('#/customers');
    await page.locator('tr[data-customer=beta] a').click();
    await expect(page.getByTestId('customer-name').textContent()).resolves.toBe('Beta Corp');
    const created = ((await api('/v1/customers/beta')) as { created_at: string }).created_at.slice(0, 10);
    const ltvApi = await api(
      `/v1/metrics?start_date=${created}&end_date=${iso(new Date()).slice(0, 10)}&interval=day&customer_id=beta&metrics=gross_margin`,
    );
    const ltv = await card('customer-ltv');
    expect(ltv.value).toBe((ltvApi.totals as Record<string, number>).gross_margin);
    expect(ltv.value).toBe(-540);
    await page.getByTestId('drivers-model').waitFor();
    const models = await page
      .getByTestId('drivers-model')
      .locator('tr')
      .evaluateAll((rows) =>
        rows.map((r) => [r.children[0]?.textContent, Number(r.children[1]?.getAttribute('data-value'))]),
      );
    expect(models).toEqual([
      ['claude-sonnet-4-6', 300],
      ['gpt-4o', 200],
      ['(none)', 40],
    ]);
    await page.getByTestId('traces').locator('a').first().waitFor();
    await page.screenshot({ path: `${SHOTS}/customer.png`, fullPage: true });
    await page.getByTestId('traces').locator('a').first().click();
    const waterfall = page.getByTestId('waterfall');
    await waterfall.waitFor();
    const tree = (await api(`/v1/traces/${TRACE_ID}`)) as { total_cost: number; span_count: number };
    expect(await waterfall.locator('tbody tr').count()).toBe(tree.span_count);
    expect((await card('trace-total')).value).toBe(tree.total_cost);
    expect(
      Number(await waterfall.locator('tr[data-span=a000000000000001] td[data-col=subtree]').getAttribute('data-value')),
    ).toBe(40);
    await expect(waterfall.locator('tr[data-span=a000000000000003] .badge').textContent()).resolves.toBe('unpriced');
    await page.screenshot({ path: `${SHOTS}/trace.png`, fullPage: true });
  });

  it("customer page: fixed costs allocated to the customer, as the API reports them, and the bill's driver line", async () => {
    const billed = await startTestCollector();
    try {
      const started = BigInt(daysAgo(3).getTime()) * 1_000_000n;
      const r = await post(
        `${billed.url}/v1/traces`,
        jsonRequest([
          {
            traceId: 'd'.repeat(32),
            spanId: 'd'.repeat(16),
            name: 'POST /sync',
            startTimeUnixNano: String(started),
            endTimeUnixNano: String(started + 1_000_000n),
            attributes: { 'customer.id': 'delta', '_cost.amount': 2 },
          },
        ]),
      );
      expect(r.status).toBe(200);
      const book = {
        fixed: [{ name: 'support desk', amount_cents: 150, period: 'day', allocate: { method: 'even' } }],
      };
      const priced = await put(`${billed.url}/v1/prices`, book);
      expect(priced.status).toBe(200);
      await billed.collector.runAllocation();
      const start = iso(daysAgo(3)).slice(0, 10);
      const list = await fetch(
        `${billed.url}/v1/metrics/customers?start_date=${start}&end_date=${iso(new Date()).slice(0, 10)}`,
      );
      const row = ((await list.json()) as { items: Array<{ allocated_costs: number }> }).items[0] as {
        allocated_costs: number;
      };
      // delta was the only customer on its day: the whole day's 150 cents (the later days went to unattributed)
      expect(row).toMatchObject({ customer_id: 'delta', allocated_costs: 150, costs: 152 });
      await open('#/customer/delta', billed.url);
      const allocated = await card('customer-allocated');
      expect(allocated.value).toBe(row.allocated_costs);
      expect(allocated.text).toBe(money(row.allocated_costs));
      const vendors = page.getByTestId('drivers-vendor');
      await vendors.locator('tr').first().waitFor();
      expect(
        await vendors
          .locator('tr')
          .evaluateAll((rows) =>
            rows.map((x) => [x.children[0]?.textContent, Number(x.children[1]?.getAttribute('data-value'))]),
          ),
      ).toEqual([
        ['support desk', 150],
        ['(none)', 2],
      ]);
      await page.screenshot({ path: `${SHOTS}/customer-allocated.png`, fullPage: true });
    } finally {
      await page.close();
      await billed.close();
    }
  });

  it('costs page, insights panel, and budget and meters on the customer page, as the API reports them', async () => {
    const other = await startTestCollector();
    try {
      const send = async (path: string, body: unknown, method = 'POST', status = 200) => {
        const res = await fetch(`${other.url}${path}`, {
          method,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(res.status).toBe(status);
        return (await res.json()) as { id?: string };
      };
      const span = (n: number, daysBack: number, cents: number, customer: string, model: string) => {
        const at = String(BigInt(daysAgo(daysBack).getTime()) * 1_000_000n);
        const traceId = n.toString(16).padStart(32, '0');
        return [
          {
            traceId,
            spanId: '1'.padStart(16, '0'),
            name: 'POST /chat',
            startTimeUnixNano: at,
            endTimeUnixNano: at,
            attributes: { 'customer.id': customer },
          },
          {
            traceId,
            spanId: '2'.padStart(16, '0'),
            parentSpanId: '1'.padStart(16, '0'),
            name: `chat ${model}`,
            startTimeUnixNano: at,
            endTimeUnixNano: at,
            attributes: { '_cost.amount': cents, 'gen_ai.request.model': model, 'gen_ai.system': 'openai' },
          },
        ];
      };
      // Five ordinary chats and one at 30 cents (≥ 3× their mean: an anomaly); one chat in the previous period.
      const spans = [
        ...[1, 2, 3, 4, 5].map((n) => span(n, n, 1, n % 2 ? 'omega' : 'sigma', 'gpt-4o')),
        span(6, 2, 30, 'omega', 'gpt-4o-mini'),
        span(7, 40, 4, 'omega', 'gpt-4o'),
      ].flat();
      await send('/v1/traces', jsonRequest(spans));
      await send('/v1/budgets/omega', { amount_cents: 20, window: 'month', thresholds: [0.5, 1] }, 'PUT');
      const meter = await send(
        '/v1/meters',
        { name: 'chats', filter: { span_name: 'POST /chat' }, aggregation: { func: 'count' } },
        'POST',
        201,
      );
      await meterBackfilled(other.url, meter.id as string);

      await open('#/costs', other.url);
      const drivers = await api2(other.url, `/v1/cost-drivers?${window30()}&group_by=model`);
      const before = await api2(
        other.url,
        `/v1/cost-drivers?start_date=${iso(daysAgo(59)).slice(0, 10)}&end_date=${iso(daysAgo(30)).slice(0, 10)}&group_by=model`,
      );
      const table = page.getByTestId('costs-model');
      await table.waitFor();
      const shown = await table
        .locator('tbody tr')
        .evaluateAll((rows) =>
          rows.map((r) => [
            r.getAttribute('data-key'),
            Number(r.querySelector('[data-col=cost]')?.getAttribute('data-value')),
            r.querySelector('[data-col=change]')?.getAttribute('data-value'),
          ]),
        );
      const earlier = new Map((before.groups as Array<{ key: string; cost: number }>).map((g) => [g.key, g.cost]));
      expect(shown).toEqual(
        (drivers.groups as Array<{ key: string; cost: number }>).map((g) => {
          const prev = earlier.get(g.key);
          return [g.key, g.cost, prev ? String((g.cost - prev) / prev) : ''];
        }),
      );
      expect(shown).toEqual([
        ['gpt-4o-mini', 30, ''],
        ['gpt-4o', 5, '0.25'],
      ]);
      const insights = await api2(other.url, `/v1/insights?${window30()}`);
      const anomaly = (insights.items as Array<{ type: string; data: { trace_id: string } }>).find(
        (i) => i.type === 'anomalous_traces',
      );
      expect(anomaly?.data.trace_id).toBe((6).toString(16).padStart(32, '0'));
      const anomalies = page.getByTestId('anomalies');
      await anomalies.waitFor();
      expect(
        await anomalies.locator('tbody tr').evaluateAll((r) => r.map((x) => x.getAttribute('data-trace'))),
      ).toEqual([anomaly?.data.trace_id]);
      const top = page.getByTestId('top-customers');
      await top.waitFor();
      const byCost = (await api2(other.url, `/v1/metrics/customers?${window30()}&sort=-costs`)).items as Array<{
        customer_id: string;
        costs: number;
      }>;
      expect(
        await top
          .locator('tbody tr')
          .evaluateAll((r) =>
            r.map((x) => [
              x.getAttribute('data-customer'),
              Number(x.querySelector('[data-col=costs]')?.getAttribute('data-value')),
            ]),
          ),
      ).toEqual(byCost.map((c) => [c.customer_id, c.costs]));
      await page.screenshot({ path: `${SHOTS}/costs.png`, fullPage: true });
      await anomalies.locator('a').first().click();
      await page.getByTestId('waterfall').waitFor();
      expect((await card('trace-total')).value).toBe(30);
      await page.close();

      await open('#/', other.url);
      const panel = page.getByTestId('insights');
      await panel.waitFor();
      expect(
        await panel
          .locator('li')
          .evaluateAll((r) => r.map((x) => [x.getAttribute('data-type'), x.getAttribute('data-severity')])),
      ).toEqual((insights.items as Array<{ type: string; severity: string }>).map((i) => [i.type, i.severity]));
      await page.screenshot({ path: `${SHOTS}/overview-insights.png`, fullPage: true });
      await page.close();

      await open('#/customer/omega', other.url);
      const status = await api2(other.url, '/v1/budgets/omega/status');
      const budget = page.getByTestId('budget');
      await budget.waitFor();
      expect(Number(await budget.getAttribute('data-spent'))).toBe(status.spent_cents);
      expect(Number(await budget.getAttribute('data-amount'))).toBe(20);
      expect(await budget.getAttribute('data-crossed')).toBe((status.crossed as number[]).join(','));
      const meterId = ((await api2(other.url, '/v1/meters')).items as Array<{ id: string }>)[0]?.id;
      const created = ((await api2(other.url, '/v1/customers/omega')) as { created_at: string }).created_at.slice(
        0,
        10,
      );
      const row = (
        (
          await api2(
            other.url,
            `/v1/metrics/customers?start_date=${created}&end_date=${iso(new Date()).slice(0, 10)}&meter=${meterId}&query=omega`,
          )
        ).items as Array<{ customer_id: string; units: number; cost_per_unit: number }>
      ).find((i) => i.customer_id === 'omega');
      expect(row).toMatchObject({ units: 5 }); // traces 1, 3, 5, 6 and 7
      const units = page.locator(`[data-testid=meters] tr[data-meter="${meterId}"] [data-col=units]`);
      await page.waitForFunction(
        `document.querySelector('[data-testid=meters] [data-col=units]')?.getAttribute('data-value') !== ''`,
      );
      expect(Number(await units.getAttribute('data-value'))).toBe(row?.units);
      expect(
        Number(
          await page
            .locator(`[data-testid=meters] tr[data-meter="${meterId}"] [data-col=cost_per_unit]`)
            .getAttribute('data-value'),
        ),
      ).toBe(row?.cost_per_unit);
      await page.screenshot({ path: `${SHOTS}/customer-budget-meters.png`, fullPage: true });
    } finally {
      await page.close();
      await other.close();
    }
  });

  it('asks for the read token when tokens are configured', async () => {
    const secured = await startTestCollector({ readTokens: [TOKEN], ingestTokens: ['in'] });
    try {
      await open('#/', secured.url);
      await page.getByTestId('token').fill(TOKEN);
      await page.locator('button[type=submit]').click();
      expect((await card('total-costs')).value).toBe(0);
    } finally {
      await page.close();
      await secured.close();
    }
    // the 401s before the token was given are expected, not page errors
    problems = problems.filter((p) => !p.includes('401'));
  });
});
