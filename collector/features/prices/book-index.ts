/**
 * The price book's entries indexed by what a span names first — model (exact name, or each prefix length), HTTP
 * host (exact, or each `.suffix` for `*.example.com`), database system, span name or first attribute filter — so a
 * 10,000-entry book costs about what a 10-entry one does per span. Matching stays first-match-wins in book order
 * (docs/contract.md §8): every list holds ascending entry indices, and the answer is the lowest index, over the lists a
 * span can hit, whose entry matches in full (price-span.ts checks dates and the remaining fields). Pure; built once
 * per book object (per thread: decode workers receive their own copy) and remembered with it.
 */
import type { AttributeFilter, PriceBook } from './book.ts';

export interface BookIndex {
  readonly models: { readonly exact: Bucket; readonly prefix: Bucket; readonly prefixLengths: readonly number[] };
  readonly http: { readonly exact: Bucket; readonly wildcard: Bucket };
  readonly db: { readonly bySystem: Bucket; readonly anySystem: readonly number[] };
  readonly spans: {
    readonly byName: Bucket;
    /** Nameless entries by their first attribute filter pair (valueKey below). */
    readonly byFirstAttribute: Bucket;
    /** Keys that start some nameless entry's filter (few: what a span is asked for). */
    readonly firstKeys: readonly string[];
  };
}

type Bucket = ReadonlyMap<string, readonly number[]>;

const built = new WeakMap<PriceBook, BookIndex>();

export function indexOf(book: PriceBook): BookIndex {
  let index = built.get(book);
  if (index === undefined) {
    index = build(book);
    built.set(book, index);
  }
  return index;
}

function build(book: PriceBook): BookIndex {
  const modelExact = new Map<string, number[]>();
  const modelPrefix = new Map<string, number[]>();
  book.models.forEach((m, i) => {
    push(m.match === 'prefix' ? modelPrefix : modelExact, m.model, i);
  });
  const httpExact = new Map<string, number[]>();
  const httpWildcard = new Map<string, number[]>();
  book.http.forEach((h, i) => {
    const host = h.host.toLowerCase();
    if (host.startsWith('*.')) push(httpWildcard, host.slice(1), i);
    else push(httpExact, host, i);
  });
  const bySystem = new Map<string, number[]>();
  const anySystem: number[] = [];
  book.db.forEach((d, i) => {
    if (d.system === null) anySystem.push(i);
    else push(bySystem, d.system.toLowerCase(), i);
  });
  const byName = new Map<string, number[]>();
  const byFirstAttribute = new Map<string, number[]>();
  book.spans.forEach((s, i) => {
    // A nameless entry always has a filter (book.ts refuses one that would price every span).
    if (s.name !== null) push(byName, s.name, i);
    else if (s.attributes.length > 0) {
      const [key, value] = s.attributes[0] as AttributeFilter[number];
      push(byFirstAttribute, valueKey(key, value), i);
    }
  });
  const firstKeys = new Set<string>();
  for (const s of book.spans)
    if (s.name === null && s.attributes.length > 0) firstKeys.add((s.attributes[0] as AttributeFilter[number])[0]);
  return {
    models: {
      exact: modelExact,
      prefix: modelPrefix,
      prefixLengths: [...new Set([...modelPrefix.keys()].map((p) => p.length))].sort((a, b) => a - b),
    },
    http: { exact: httpExact, wildcard: httpWildcard },
    db: { bySystem, anySystem },
    spans: { byName, byFirstAttribute, firstKeys: [...firstKeys] },
  };
}

function push(bucket: Map<string, number[]>, key: string, index: number): void {
  const list = bucket.get(key);
  if (list) list.push(index);
  else bucket.set(key, [index]);
}

/**
 * A filter pair as an index key. Numbers compare by value (price-span.ts attributesMatch: an int64 arrives as a
 * bigint, a stored one as its decimal text), so a number is keyed `n:<value>` and a span's numeric text is looked up
 * under that key too.
 */
export function valueKey(key: string, value: string | number | boolean): string {
  return typeof value === 'number' ? `${key}\u0000n:${value}` : `${key}\u0000${typeof value}:${String(value)}`;
}

/** The index keys a span's attribute value is found under (a numeric string both as text and as a number). */
export function spanValueKeys(key: string, value: unknown): string[] {
  if (typeof value === 'number' || typeof value === 'bigint') return [`${key}\u0000n:${Number(value)}`];
  if (typeof value === 'boolean') return [`${key}\u0000boolean:${value}`];
  if (typeof value !== 'string') return [];
  const keys = [`${key}\u0000string:${value}`];
  if (/^-?\d+(\.\d+)?$/.test(value)) keys.push(`${key}\u0000n:${Number(value)}`);
  return keys;
}

/**
 * The lowest index over `lists` for which `matches` holds (each list ascending: its first match is its best), or
 * -1. Lists are scanned only below the best found so far.
 */
export function firstMatch(
  lists: ReadonlyArray<readonly number[] | undefined>,
  matches: (i: number) => boolean,
): number {
  let best = -1;
  for (const list of lists) {
    if (list === undefined) continue;
    for (const i of list) {
      if (best !== -1 && i >= best) break;
      if (matches(i)) {
        best = i;
        break;
      }
    }
  }
  return best;
}
