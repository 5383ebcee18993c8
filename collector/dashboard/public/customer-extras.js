// The customer page's budget (GET /v1/budgets/{id}/status) and meters (units and cost per unit from
// /v1/metrics/customers?meter=ID, one meter at a time).
import { money } from './format.js';
import { html, useApi } from './ui.js';

export function BudgetStatus({ id }) {
  // Ask for the status only when a budget applies (its own or the "*" default): no 404 to show.
  const budgets = useApi('/v1/budgets');
  const applies = budgets.data?.items.some((b) => b.customer_id === id || b.customer_id === '*');
  const { data } = useApi(applies ? `/v1/budgets/${encodeURIComponent(id)}/status` : null);
  if (budgets.data && !applies)
    return html`<p data-testid="budget-none" class="muted">No budget for this customer (and no "*" default).</p>`;
  if (!data) return null;
  const used = data.amount_cents > 0 ? data.spent_cents / data.amount_cents : 0;
  return html`<div data-testid="budget" data-spent=${data.spent_cents} data-amount=${data.amount_cents}
      data-crossed=${data.crossed.join(',')}>
    <p>${money(data.spent_cents)} of ${money(data.amount_cents)} this ${data.window}
      (${data.window_start.slice(0, 10)} – ${data.window_end.slice(0, 10)}, UTC)${data.budget === '*' ? ' — the default budget' : ''}</p>
    <progress max="1" value=${Math.min(1, used)}></progress>
    <p class="muted small">Thresholds ${data.thresholds.map((t) => `${Math.round(t * 100)}%`).join(', ')};
      crossed: ${data.crossed.length === 0 ? 'none' : data.crossed.map((t) => `${Math.round(t * 100)}%`).join(', ')}</p>
  </div>`;
}

function MeterRow({ meter, id, start, end }) {
  const { data } = useApi(
    `/v1/metrics/customers?start_date=${start}&end_date=${end}&meter=${meter.id}&query=${encodeURIComponent(id)}&limit=1000`,
  );
  const mine = data?.items.find((i) => i.customer_id === id);
  return html`<tr data-meter=${meter.id} class="meter">
    <td>${meter.name} <span class="muted small">(${meter.aggregation.func}${meter.aggregation.property ? ` of ${meter.aggregation.property}` : ''})</span></td>
    <td class="num" data-col="units" data-value=${mine ? mine.units : ''}>${mine ? mine.units.toLocaleString('en-US') : data ? '0' : '…'}</td>
    <td class="num" data-col="cost_per_unit" data-value=${mine?.cost_per_unit ?? ''}>${mine ? money(mine.cost_per_unit) : '—'}</td>
  </tr>`;
}

export function MeterUnits({ id, start, end }) {
  const { data } = useApi('/v1/meters');
  if (!data) return null;
  if (data.items.length === 0)
    return html`<p class="muted" data-testid="meters-none">No meters defined (POST /v1/meters).</p>`;
  return html`<table data-testid="meters">
    <thead><tr><th>Meter</th><th class="num">Units</th><th class="num">Cost per unit</th></tr></thead>
    <tbody>${data.items.map((m) => html`<${MeterRow} meter=${m} id=${id} start=${start} end=${end} />`)}</tbody>
  </table>`;
}
