// costtrace dashboard: reads only the public API (/v1/metrics, /v1/metrics/customers, /v1/customers,
// /v1/cost-drivers, /v1/traces, /v1/prices, /v1/insights, /v1/budgets, /v1/meters). Hash routes: #/ overview,
// #/costs, #/customers, #/customer/<id>, #/trace/<id>.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { Costs, InsightsPanel } from './costs.js';
import { BudgetStatus, MeterUnits } from './customer-extras.js';
import { isoDate, money, percent } from './format.js';
import { AuthNeeded, api, Card, html, RangePicker, TOKEN_KEY, useApi, useRoute } from './ui.js';

const today = () => new Date();
const daysAgo = (n) => new Date(Date.now() - n * 86_400_000);

/** Lighter strokes for the same series on a dark background. */
const DARK = { '#2da44e': '#3fb950', '#cf222e': '#f85149', '#0969da': '#4493f8' };

function Chart({ periods, series, testId }) {
  const ref = useRef(null);
  useEffect(() => {
    if (!ref.current || periods.length === 0) return undefined;
    const dark = matchMedia('(prefers-color-scheme: dark)').matches;
    const axis = { stroke: dark ? '#c9d1d9' : '#24292f', grid: { stroke: dark ? '#30363d' : '#eaeef2' } };
    const plot = new uPlot(
      {
        width: ref.current.clientWidth || 600,
        height: 260,
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: dark ? (DARK[s.color] ?? s.color) : s.color,
            width: 2,
            value: (_u, v) => money(v),
          })),
        ],
        axes: [axis, { ...axis, values: (_u, ticks) => ticks.map((t) => money(t)), size: 80 }],
      },
      [periods.map((p) => Date.parse(p.timestamp) / 1000), ...series.map((s) => periods.map((p) => p[s.key]))],
      ref.current,
    );
    const resize = () => plot.setSize({ width: ref.current?.clientWidth || 600, height: 260 });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [periods, series]);
  return html`<div class="chart" data-testid=${testId} ref=${ref}></div>`;
}

function Overview({ range, setRange }) {
  const q = `start_date=${range.start}&end_date=${range.end}`;
  const metrics = useApi(
    `/v1/metrics?${q}&interval=${range.interval}&metrics=cashflow&metrics=gross_margin_percentage`,
  );
  const customers = useApi(`/v1/metrics/customers?${q}&limit=1`);
  const m = metrics.data;
  return html`<section>
    <h1>Overview</h1>
    <${RangePicker} range=${range} setRange=${setRange} />
    ${metrics.error && html`<p class="error">${metrics.error.message}</p>`}
    ${
      m &&
      html`<div class="cards">
        <${Card} label="Revenue" testId="total-revenue" value=${m.totals.revenue} display=${money(m.totals.revenue)} />
        <${Card} label="Costs" testId="total-costs" value=${m.totals.costs} display=${money(m.totals.costs)} />
        <${Card} label="Profit" testId="total-profit" value=${m.totals.cashflow} display=${money(m.totals.cashflow)}
          tone=${m.totals.cashflow < 0 ? 'loss' : ''} />
        <${Card} label="Gross margin (lifetime)" testId="gross-margin" value=${m.totals.gross_margin_percentage}
          display=${percent(m.totals.gross_margin_percentage)} />
        ${
          customers.data &&
          html`<${Card} label="Unattributed cost" testId="unattributed" value=${customers.data.unattributed_costs}
            display=${money(customers.data.unattributed_costs)} tone=${customers.data.unattributed_costs > 0 ? 'warn' : ''} />`
        }
      </div>
      <${Chart} testId="overview-chart" periods=${m.periods} series=${[
        { key: 'revenue', label: 'Revenue', color: '#2da44e' },
        { key: 'costs', label: 'Costs', color: '#cf222e' },
        { key: 'cashflow', label: 'Profit', color: '#0969da' },
      ]} />`
    }
    <p><a href="#/customers">Which customers lose money? →</a> · <a href="#/costs">What drives cost? →</a></p>
    <${InsightsPanel} range=${range} />
    <${Pricing} range=${range} />
  </section>`;
}

/** The price book in use, and models that arrived with usage but no price, with what to add to the book. */
function Pricing({ range }) {
  const book = useApi('/v1/prices');
  const unpriced = useApi(`/v1/prices/unpriced?start_date=${range.start}&end_date=${range.end}&limit=10`);
  const b = book.data;
  return html`<section class="pricing">
    <h2>Pricing</h2>
    ${
      b &&
      html`<p data-testid="price-book" data-version=${b.version}>${
        b.version === 0
          ? 'No price book: LLM usage is priced with the bundled model table; HTTP, database and other spans only when the app sends _cost.'
          : `Price book version ${b.version} (${b.origin === 'file' ? 'from --prices' : 'from PUT /v1/prices'}, ${b.created_at.slice(0, 10)}).`
      }</p>`
    }
    ${
      unpriced.data &&
      (unpriced.data.items.length === 0
        ? html`<p data-testid="unpriced-none">Every LLM call in this range was priced.</p>`
        : html`<table data-testid="unpriced">
            <thead><tr><th>Unpriced model</th><th>Vendor</th><th>Spans</th></tr></thead>
            <tbody>${unpriced.data.items.map(
              (i) =>
                html`<tr data-model=${i.model ?? ''}><td>${i.model ?? '(no model name)'}</td><td>${i.vendor ?? '—'}</td><td>${i.spans}</td></tr>`,
            )}</tbody>
          </table>
          <p class="hint">Add them to the price book (<code>--prices</code> or <code>PUT /v1/prices</code>), e.g.
            <code>${JSON.stringify({ models: [{ model: unpriced.data.items[0].model ?? 'model-name', input_usd_per_mtok: '0', output_usd_per_mtok: '0' }] })}</code>,
            then re-price the past with <code>POST /v1/prices/reprice</code>.</p>`)
    }
  </section>`;
}

const COLUMNS = [
  ['revenue', 'Revenue', money],
  ['costs', 'Costs', money],
  ['profit', 'Profit', money],
  ['margin', 'Margin', percent],
  ['ltv', 'LTV', money],
  ['cost_share', 'Cost share', percent],
];
const PAGE = 20;

function Customers({ range, setRange }) {
  const [sort, setSort] = useState('profit');
  const [offset, setOffset] = useState(0);
  const [query, setQuery] = useState('');
  const search = query ? `&query=${encodeURIComponent(query)}` : '';
  const { data, error } = useApi(
    `/v1/metrics/customers?start_date=${range.start}&end_date=${range.end}&sort=${sort}&limit=${PAGE}&offset=${offset}${search}`,
  );
  const toggle = (key) => {
    setOffset(0);
    setSort(sort === `-${key}` ? key : `-${key}`);
  };
  const arrow = (key) => (sort === key ? ' ▲' : sort === `-${key}` ? ' ▼' : '');
  return html`<section>
    <h1>Customers</h1>
    <${RangePicker} range=${range} setRange=${setRange} />
    <input class="search" type="search" placeholder="Search customers" data-testid="search" value=${query}
      onInput=${(e) => {
        setOffset(0);
        setQuery(e.target.value);
      }} />
    ${error && html`<p class="error">${error.message}</p>`}
    ${
      data &&
      html`<div class="scroll"><table data-testid="customers">
        <thead><tr><th>Customer</th>${COLUMNS.map(
          ([key, label]) =>
            html`<th class="num sortable" data-sort=${key} onClick=${() => toggle(key)}>${label}${arrow(key)}</th>`,
        )}</tr></thead>
        <tbody>${data.items.map(
          (c) => html`<tr class=${c.profit < 0 ? 'loss' : ''} data-customer=${c.customer_id}>
            <td><a href=${`#/customer/${encodeURIComponent(c.customer_id)}`}>${c.name ?? c.customer_id}</a></td>
            ${COLUMNS.map(([key, , fmt]) => html`<td class="num" data-col=${key} data-value=${c[key]}>${fmt(c[key])}</td>`)}
          </tr>`,
        )}</tbody>
      </table></div>
      <div class="pager">
        <button disabled=${offset === 0} onClick=${() => setOffset(Math.max(0, offset - PAGE))}>← Previous</button>
        <span data-testid="page">${data.pagination.total_count === 0 ? 0 : offset + 1}–${offset + data.items.length} of ${data.pagination.total_count}</span>
        <button disabled=${offset + PAGE >= data.pagination.total_count} onClick=${() => setOffset(offset + PAGE)}>Next →</button>
      </div>`
    }
  </section>`;
}

/** The longest interval the metrics API allows for a span of days, at most monthly. */
function intervalFor(days) {
  return days <= 366 ? 'day' : days <= 1460 ? 'month' : 'year';
}

function DriverTable({ customerId, start, end, groupBy }) {
  const { data } = useApi(
    `/v1/cost-drivers?start_date=${start}&end_date=${end}&group_by=${groupBy}&customer_id=${encodeURIComponent(customerId)}&limit=8`,
  );
  return html`<div class="driver">
    <h3>By ${groupBy}</h3>
    ${
      data &&
      html`<table data-testid=${`drivers-${groupBy}`}><tbody>${data.groups.map(
        (g) => html`<tr><td>${g.key ?? '(none)'}</td><td class="num" data-value=${g.cost}>${money(g.cost)}</td>
        <td class="num">${percent(g.share)}</td></tr>`,
      )}</tbody></table>`
    }
  </div>`;
}

function Customer({ id }) {
  const customer = useApi(`/v1/customers/${encodeURIComponent(id)}`);
  const c = customer.data;
  const start = c ? c.created_at.slice(0, 10) : null;
  const end = isoDate(today());
  const days = start ? (Date.parse(end) - Date.parse(start)) / 86_400_000 : 0;
  const ltv = useApi(
    start
      ? `/v1/metrics?start_date=${start}&end_date=${end}&interval=${intervalFor(days)}&customer_id=${encodeURIComponent(id)}&metrics=gross_margin`
      : null,
  );
  const traces = useApi(`/v1/traces?customer_id=${encodeURIComponent(id)}&sort=-cost&limit=10`);
  // The customer's row of the profitability list (search narrows it; the exact id picks it): allocated fixed costs.
  const row = useApi(
    start
      ? `/v1/metrics/customers?start_date=${start}&end_date=${end}&query=${encodeURIComponent(id)}&limit=1000`
      : null,
  );
  const mine = row.data?.items.find((i) => i.customer_id === id);
  if (customer.error) return html`<section><p class="error">${customer.error.message}</p></section>`;
  if (!c) return html`<section><p>Loading…</p></section>`;
  return html`<section>
    <p><a href="#/customers">← Customers</a></p>
    <h1 data-testid="customer-name">${c.name ?? c.external_id}</h1>
    <p class="muted">${c.external_id} · customer since ${start}</p>
    ${
      ltv.data &&
      html`<div class="cards">
        <${Card} label="Lifetime value (profit to date)" testId="customer-ltv" value=${ltv.data.totals.gross_margin}
          display=${money(ltv.data.totals.gross_margin)} tone=${ltv.data.totals.gross_margin < 0 ? 'loss' : ''} />
        <${Card} label="Lifetime revenue" testId="customer-revenue" value=${ltv.data.totals.cumulative_revenue}
          display=${money(ltv.data.totals.cumulative_revenue)} />
        <${Card} label="Lifetime costs" testId="customer-costs" value=${ltv.data.totals.cumulative_costs}
          display=${money(ltv.data.totals.cumulative_costs)} />
        ${
          mine &&
          html`<${Card} label="of which fixed costs allocated" testId="customer-allocated" value=${mine.allocated_costs}
            display=${money(mine.allocated_costs)} />`
        }
      </div>
      <h2>Cumulative profit since signup</h2>
      <${Chart} testId="ltv-chart" periods=${ltv.data.periods} series=${[{ key: 'gross_margin', label: 'LTV', color: '#0969da' }]} />`
    }
    <h2>Budget</h2>
    <${BudgetStatus} id=${id} />
    <h2>Usage since signup</h2>
    <${MeterUnits} id=${id} start=${start} end=${end} />
    <h2>What drives this customer's cost</h2>
    <div class="drivers">
      ${['model', 'vendor', 'service'].map((g) => html`<${DriverTable} customerId=${id} start=${start} end=${end} groupBy=${g} />`)}
    </div>
    <h2>Most expensive traces</h2>
    ${
      traces.data &&
      html`<table data-testid="traces"><thead><tr><th>Trace</th><th>Started</th><th class="num">Spans</th><th class="num">Cost</th></tr></thead>
      <tbody>${traces.data.items.map(
        (
          t,
        ) => html`<tr><td><a href=${`#/trace/${t.trace_id}`}>${t.root_name}</a></td><td>${t.start_time.slice(0, 19).replace('T', ' ')}</td>
          <td class="num">${t.span_count}</td><td class="num" data-value=${t.cost}>${money(t.cost)}</td></tr>`,
      )}</tbody></table>`
    }
  </section>`;
}

function flatten(nodes, depth = 0, out = []) {
  for (const n of nodes) {
    out.push({ node: n, depth });
    flatten(n.children, depth + 1, out);
  }
  return out;
}

function Trace({ id }) {
  const { data, error } = useApi(`/v1/traces/${id}`);
  if (error) return html`<section><p class="error">${error.message}</p></section>`;
  if (!data) return html`<section><p>Loading…</p></section>`;
  const rows = flatten(data.spans);
  const starts = rows.map((r) => Number(BigInt(r.node.start_time_unix_nano) / 1000n));
  const ends = rows.map((r) => Number(BigInt(r.node.end_time_unix_nano) / 1000n));
  const t0 = Math.min(...starts);
  const span = Math.max(1, Math.max(...ends) - t0);
  return html`<section>
    <p>${data.customer_id && html`<a href=${`#/customer/${encodeURIComponent(data.customer_id)}`}>← ${data.customer_id}</a>`}</p>
    <h1>Trace <code>${data.trace_id.slice(0, 16)}…</code></h1>
    <div class="cards">
      <${Card} label="Total cost" testId="trace-total" value=${data.total_cost} display=${money(data.total_cost)} />
      <${Card} label="Spans" testId="trace-spans" value=${data.span_count} display=${data.span_count} />
      <${Card} label="Unattributed" testId="trace-unattributed" value=${data.unattributed_cost} display=${money(data.unattributed_cost)} />
    </div>
    <div class="scroll"><table class="waterfall" data-testid="waterfall">
      <thead><tr><th>Span</th><th>Customer</th><th class="num">Own cost</th><th class="num">Subtree</th><th class="bars">Timeline</th></tr></thead>
      <tbody>${rows.map(({ node, depth }, i) => {
        const left = ((starts[i] - t0) / span) * 100;
        const width = Math.max(0.5, ((ends[i] - starts[i]) / span) * 100);
        return html`<tr data-span=${node.span_id}>
          <td style=${`padding-left:${0.5 + depth * 1.2}rem`}>${node.name}
            ${node.cost_source === 'unpriced' && html` <span class="badge" title="model has no known price">unpriced</span>`}
            <div class="muted small">${node.service_name ?? ''} · ${node.duration_ms.toFixed(1)} ms</div></td>
          <td>${node.customer_id ?? html`<span class="badge warn">unattributed</span>`}
            ${node.customer_source === 'ancestor' && html` <span class="muted small">(inherited)</span>`}</td>
          <td class="num" data-col="cost" data-value=${node.cost ?? ''}>${money(node.cost)}</td>
          <td class="num" data-col="subtree" data-value=${node.subtree_cost}>${money(node.subtree_cost)}</td>
          <td class="bars"><div class="bar" style=${`margin-left:${left}%;width:${width}%`}></div></td>
        </tr>`;
      })}</tbody>
    </table></div>
  </section>`;
}

function TokenForm({ onSaved }) {
  const [value, setValue] = useState('');
  return html`<section class="token">
    <h1>Read token needed</h1>
    <p>This collector requires a read token (COSTTRACE_READ_TOKEN).</p>
    <form onSubmit=${(e) => {
      e.preventDefault();
      localStorage.setItem(TOKEN_KEY, value);
      onSaved();
    }}><input type="password" data-testid="token" value=${value} onInput=${(e) => setValue(e.target.value)} />
      <button type="submit">Use token</button></form>
  </section>`;
}

function App() {
  const { page, arg } = useRoute();
  const [range, setRange] = useState({ start: isoDate(daysAgo(29)), end: isoDate(today()), interval: 'day' });
  const [authNeeded, setAuthNeeded] = useState(false);
  const [epoch, setEpoch] = useState(0);
  useEffect(() => {
    api('/v1/customers?limit=1').then(
      () => setAuthNeeded(false),
      (e) => setAuthNeeded(e instanceof AuthNeeded),
    );
  }, [epoch]);
  const content = authNeeded
    ? html`<${TokenForm} onSaved=${() => setEpoch(epoch + 1)} />`
    : page === 'customers'
      ? html`<${Customers} range=${range} setRange=${setRange} />`
      : page === 'customer'
        ? html`<${Customer} id=${arg} />`
        : page === 'trace'
          ? html`<${Trace} id=${arg} />`
          : page === 'costs'
            ? html`<${Costs} range=${range} setRange=${setRange} />`
            : html`<${Overview} range=${range} setRange=${setRange} />`;
  return html`<header><a class="brand" href="#/">costtrace</a>
      <nav><a href="#/">Overview</a><a href="#/costs">Costs</a><a href="#/customers">Customers</a></nav></header>
    <main key=${epoch}>${content}</main>`;
}

render(html`<${App} />`, document.getElementById('app'));
