// The Costs page (like Polar's Cost Insights): cost by model / vendor / service with the change against the
// previous period of the same length, anomalous traces (from /v1/insights) linking to their waterfall, and the
// customers that cost the most. Also the insights panel of the overview.
import { isoDate, money, percent } from './format.js';
import { html, RangePicker, useApi } from './ui.js';

const DAY_MS = 86_400_000;

/** The window of the same length just before [start, end] (UTC days, end inclusive). */
export function previousWindow(start, end) {
  const days = Math.round((Date.parse(end) - Date.parse(start)) / DAY_MS) + 1;
  return {
    start: isoDate(new Date(Date.parse(start) - days * DAY_MS)),
    end: isoDate(new Date(Date.parse(start) - DAY_MS)),
  };
}

/** (now − before) ÷ before; null when there was nothing before. */
export function change(now, before) {
  if (before === undefined || before === null || before === 0) return null;
  return (now - before) / before;
}

function signedPercent(fraction) {
  if (fraction === null) return 'new';
  return `${fraction > 0 ? '+' : ''}${percent(fraction)}`;
}

function Breakdown({ groupBy, range, previous }) {
  const now = useApi(`/v1/cost-drivers?start_date=${range.start}&end_date=${range.end}&group_by=${groupBy}&limit=20`);
  const before = useApi(
    `/v1/cost-drivers?start_date=${previous.start}&end_date=${previous.end}&group_by=${groupBy}&limit=500`,
  );
  if (!now.data || !before.data) return html`<div class="driver"><h3>By ${groupBy}</h3><p>Loading…</p></div>`;
  const earlier = new Map(before.data.groups.map((g) => [g.key, g.cost]));
  return html`<div class="driver">
    <h3>By ${groupBy}</h3>
    <table data-testid=${`costs-${groupBy}`}>
      <thead><tr><th>${groupBy}</th><th class="num">Cost</th><th class="num">Share</th><th class="num">vs previous</th></tr></thead>
      <tbody>${now.data.groups.map((g) => {
        const delta = change(g.cost, earlier.get(g.key));
        return html`<tr data-key=${g.key ?? ''}>
          <td>${g.key ?? '(none)'}</td>
          <td class="num" data-col="cost" data-value=${g.cost}>${money(g.cost)}</td>
          <td class="num" data-col="share" data-value=${g.share}>${percent(g.share)}</td>
          <td class=${`num ${delta !== null && delta > 0 ? 'up' : ''}`} data-col="change" data-value=${delta ?? ''}>${signedPercent(delta)}</td>
        </tr>`;
      })}</tbody>
    </table>
  </div>`;
}

function TopCustomers({ range }) {
  const { data } = useApi(`/v1/metrics/customers?start_date=${range.start}&end_date=${range.end}&sort=-costs&limit=10`);
  if (!data) return null;
  return html`<table data-testid="top-customers">
    <thead><tr><th>Customer</th><th class="num">Costs</th><th class="num">Cost share</th><th class="num">Profit</th></tr></thead>
    <tbody>${data.items.map(
      (c) => html`<tr data-customer=${c.customer_id} class=${c.profit < 0 ? 'loss' : ''}>
        <td><a href=${`#/customer/${encodeURIComponent(c.customer_id)}`}>${c.name ?? c.customer_id}</a></td>
        <td class="num" data-col="costs" data-value=${c.costs}>${money(c.costs)}</td>
        <td class="num" data-col="cost_share" data-value=${c.cost_share}>${percent(c.cost_share)}</td>
        <td class="num" data-col="profit" data-value=${c.profit}>${money(c.profit)}</td>
      </tr>`,
    )}</tbody>
  </table>`;
}

function Anomalies({ range }) {
  const { data, error } = useApi(`/v1/insights?start_date=${range.start}&end_date=${range.end}`);
  if (error) return html`<p class="error">${error.message}</p>`;
  if (!data) return null;
  const traces = data.items.filter((i) => i.type === 'anomalous_traces');
  if (traces.length === 0) return html`<p data-testid="anomalies-none">No trace cost far above its kind's mean.</p>`;
  return html`<table data-testid="anomalies">
    <thead><tr><th>Trace</th><th class="num">Cost</th><th class="num">× mean of its root name</th></tr></thead>
    <tbody>${traces.map(
      (i) => html`<tr data-trace=${i.data.trace_id} class=${i.severity}>
        <td><a href=${`#/trace/${i.data.trace_id}`}>${i.data.root_name}</a> <code class="muted small">${i.data.trace_id.slice(0, 12)}…</code></td>
        <td class="num" data-value=${i.data.cost}>${money(i.data.cost)}</td>
        <td class="num">${i.data.times.toFixed(1)}×</td>
      </tr>`,
    )}</tbody>
  </table>`;
}

export function Costs({ range, setRange }) {
  const previous = previousWindow(range.start, range.end);
  return html`<section>
    <h1>Costs</h1>
    <${RangePicker} range=${range} setRange=${setRange} />
    <p class="muted">Change is against ${previous.start} – ${previous.end}, the period of the same length before.</p>
    <div class="drivers">
      ${['model', 'vendor', 'service'].map((g) => html`<${Breakdown} groupBy=${g} range=${range} previous=${previous} />`)}
    </div>
    <h2>Anomalous traces</h2>
    <${Anomalies} range=${range} />
    <h2>Top customers by cost</h2>
    <${TopCustomers} range=${range} />
  </section>`;
}

/** Where an insight's subject lives on the dashboard. */
function subjectLink(item) {
  if (item.data.trace_id) return `#/trace/${item.data.trace_id}`;
  if (item.data.customer_id) return `#/customer/${encodeURIComponent(item.data.customer_id)}`;
  return null;
}

export function InsightsPanel({ range }) {
  const { data, error } = useApi(`/v1/insights?start_date=${range.start}&end_date=${range.end}`);
  return html`<section class="insights">
    <h2>Insights</h2>
    ${error && html`<p class="error">${error.message}</p>`}
    ${
      data &&
      (data.items.length === 0
        ? html`<p data-testid="insights-none">Nothing looks wrong in this range.</p>`
        : html`<ul data-testid="insights">${data.items.map((i) => {
            const link = subjectLink(i);
            return html`<li data-type=${i.type} data-severity=${i.severity}>
              <span class=${`badge ${i.severity === 'critical' ? 'loss' : 'warn'}`}>${i.severity}</span>
              ${link ? html`<a href=${link}>${i.message}</a>` : i.message}
            </li>`;
          })}</ul>`)
    }
  </section>`;
}
