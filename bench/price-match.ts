/**
 * `npm run bench:price-match`: the price book's matching alone (collector/features/prices/price-span.ts) — µs per span for
 * the bench fixture's kinds of spans (an LLM call the last model entry prices, an HTTP call, a query, an app span),
 * against a 10-entry book and a maximal legal one (4 × 10,000 entries: exact and prefix models, hosts, systems, and
 * nameless span rules with 32-key attribute filters, none of which match, so a scan reads every entry). Prints one
 * JSON line per book.
 */
import { parsePriceBook } from '../collector/features/prices/book.ts';
import { priceSpan, type SpanToPrice } from '../collector/features/prices/price-span.ts';
import { usageFromAttributes } from '../src/pricing.ts';

function book(entries: number) {
  const filter = (i: number) => Object.fromEntries(Array.from({ length: 32 }, (_, k) => [`attr.${k}`, `v${i}-${k}`]));
  const json = {
    models: [
      ...Array.from({ length: entries - 1 }, (_, i) => ({
        model: `custom-model-${i}`,
        match: i % 2 === 0 ? 'exact' : 'prefix',
        input_usd_per_mtok: '1.5',
        output_usd_per_mtok: '6',
      })),
      { provider: 'openai', model: 'gpt-4o-mini', input_usd_per_mtok: '0.15', output_usd_per_mtok: '0.6' },
    ],
    http: Array.from({ length: entries }, (_, i) => ({ host: `api${i}.vendor.example`, cents_per_request: '0.1' })),
    db: Array.from({ length: entries }, (_, i) => ({ system: `db-${i}`, cents_per_query: '0.001' })),
    spans: Array.from({ length: entries }, (_, i) => ({ attributes: filter(i), cents_per_span: '0.5' })),
  };
  const parsed = parsePriceBook(json);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems.slice(0, 3)));
  return parsed.book;
}

const start = BigInt(Date.UTC(2026, 2, 1)) * 1_000_000n;
const spans: SpanToPrice[] = [
  { 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 100 },
  { 'http.request.method': 'POST', 'server.address': 'api.stripe.com', 'url.path': '/v1/charges' },
  { 'db.system.name': 'postgresql', 'db.operation.name': 'SELECT' },
  { 'attr.0': 'v1-0', 'attr.1': 'x', route: '/answer' },
].map((attributes) => {
  const get = (k: string) => (attributes as Record<string, unknown>)[k];
  return {
    name: 'op',
    startTimeUnixNano: start,
    endTimeUnixNano: start + 1_000_000n,
    get,
    usage: usageFromAttributes(get),
  };
});

for (const entries of [10, 10_000]) {
  const b = book(entries);
  for (const s of spans) priceSpan(b, s); // warm up (and build the index, where there is one)
  const rounds = entries === 10 ? 200_000 : 200;
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) for (const s of spans) priceSpan(b, s);
  const us = Number(process.hrtime.bigint() - t0) / 1000 / (rounds * spans.length);
  process.stdout.write(
    `${JSON.stringify({ bench: 'price-match', book_entries: entries * 4, us_per_span: Number(us.toFixed(3)) })}\n`,
  );
}
