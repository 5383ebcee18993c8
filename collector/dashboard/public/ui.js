// Shared by the dashboard's views: API access (with the read token), loading hooks, cards and the range picker.
import htm from 'htm';
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export const html = htm.bind(h);
export const TOKEN_KEY = 'costtrace.readToken';

export class AuthNeeded extends Error {}

export async function api(path) {
  const token = localStorage.getItem(TOKEN_KEY);
  const res = await fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (res.status === 401 || res.status === 403) throw new AuthNeeded();
  const body = await res.json();
  if (!res.ok) throw new Error(body.message ?? `${res.status}`);
  return body;
}

/** Loads `path` (re-loading when it changes); null while loading. */
export function useApi(path) {
  const [state, setState] = useState({ data: null, error: null });
  useEffect(() => {
    let live = true;
    setState({ data: null, error: null });
    if (path)
      api(path).then(
        (data) => live && setState({ data, error: null }),
        (error) => live && setState({ data: null, error }),
      );
    return () => {
      live = false;
    };
  }, [path]);
  return state;
}

export function useRoute() {
  const [hash, setHash] = useState(location.hash || '#/');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  const [, page = '', ...rest] = hash.split('/');
  return { page, arg: decodeURIComponent(rest.join('/')) };
}

export function Card({ label, value, display, testId, tone }) {
  return html`<div class=${`card ${tone ?? ''}`} data-testid=${testId} data-value=${value}>
    <div class="label">${label}</div><div class="value">${display}</div>
  </div>`;
}

export function RangePicker({ range, setRange }) {
  return html`<div class="range">
    <label>From <input type="date" value=${range.start} onChange=${(e) => setRange({ ...range, start: e.target.value })} /></label>
    <label>To <input type="date" value=${range.end} onChange=${(e) => setRange({ ...range, end: e.target.value })} /></label>
    <label>By <select data-testid="interval" value=${range.interval} onChange=${(e) => setRange({ ...range, interval: e.target.value })}>
      ${['day', 'week', 'month'].map((i) => html`<option value=${i}>${i}</option>`)}
    </select></label>
  </div>`;
}
