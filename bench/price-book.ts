/**
 * A price book of `rules` entries for benches: a quarter each of model, HTTP, database and span rules that the
 * bench fixture's spans do not match, except the last model rule, which prices its LLM spans (gpt-4o-mini) —
 * so every priced span first scans all the others (the worst case of first-match-wins).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function writeBenchPriceBook(dir: string, rules: number): string {
  const quarter = Math.max(1, Math.floor(rules / 4));
  const book = {
    models: [
      ...Array.from({ length: quarter - 1 }, (_, i) => ({
        model: `custom-model-${i}`,
        match: i % 2 === 0 ? 'exact' : 'prefix',
        input_usd_per_mtok: '1.5',
        output_usd_per_mtok: '6',
      })),
      { provider: 'openai', model: 'gpt-4o-mini', input_usd_per_mtok: '0.15', output_usd_per_mtok: '0.6' },
    ],
    http: Array.from({ length: quarter }, (_, i) => ({ host: `api${i}.vendor.example`, cents_per_request: '0.1' })),
    db: Array.from({ length: quarter }, (_, i) => ({ system: `db-${i}`, cents_per_query: '0.001' })),
    spans: Array.from({ length: rules - 3 * quarter }, (_, i) => ({ name: `job-${i}`, cents_per_span: '0.5' })),
  };
  const path = join(dir, `price-book-${rules}.json`);
  writeFileSync(path, JSON.stringify(book));
  return path;
}
