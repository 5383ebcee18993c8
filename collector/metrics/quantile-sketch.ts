/**
 * Per-trace cost quantiles that merge across days (docs/architecture.md, "Cost drivers"): a DDSketch (Masson, Rim,
 * Lee, VLDB 2019) with the logarithmic mapping. A value v > 0 (picocents) falls in bucket i = ⌈log_γ v⌉ with
 * γ = (1 + α)/(1 − α); the bucket answers 2γ^i/(γ + 1), within α = 1% of every value it holds. Sketches merge by
 * adding counts, exactly, so a window's sketch is the sum of its days'. A known value can be taken out again
 * (its bucket is a pure function of it): a trace whose parts turn out to lie on two days leaves both days'
 * sketches and is counted once, exactly.
 *
 * Written here rather than taken from @datadog/sketches-js: the store needs removal of a known value and a plain,
 * stable bucket numbering to keep in DuckDB (keys as JSON), which that package does not expose.
 *
 * Keys: 0 holds 0; a value v > 0 has key ⌈log_γ v⌉ + 1 (≥ 1: costs are whole picocents); v < 0 has the negated key of
 * −v, so keys sort as their values do. Pure.
 */

/** The documented bound: every quantile a sketch answers is within this fraction of the exact one. */
export const SKETCH_RELATIVE_ERROR = 0.01;
const GAMMA = (1 + SKETCH_RELATIVE_ERROR) / (1 - SKETCH_RELATIVE_ERROR);
const LOG_GAMMA = Math.log(GAMMA);

/** Bucket key → how many values it holds. */
export type Sketch = Map<number, number>;

export function bucketOf(picocents: bigint): number {
  if (picocents === 0n) return 0;
  const magnitude = picocents < 0n ? -picocents : picocents;
  const key = Math.ceil(Math.log(Number(magnitude)) / LOG_GAMMA) + 1;
  return picocents < 0n ? -key : key;
}

/**
 * The same key as SQL, for a DECIMAL column of cents: the one definition the store uses (the index, its corrections
 * and the live values are all bucketed by DuckDB, so a value taken out lands on the key it went in with).
 */
export function bucketSql(cents: string): string {
  const logPico = (v: string) => `ceil(ln((${v})::DOUBLE * 1e12) / ${LOG_GAMMA})::INTEGER + 1`;
  return `(CASE WHEN ${cents} = 0 THEN 0 WHEN ${cents} > 0 THEN ${logPico(cents)} ELSE -(${logPico(`-(${cents})`)}) END)`;
}

/** The value a bucket answers (picocents, rounded). */
export function bucketValue(key: number): bigint {
  if (key === 0) return 0n;
  const i = Math.abs(key) - 1;
  const v = BigInt(Math.round((2 * GAMMA ** i) / (GAMMA + 1)));
  return key < 0 ? -v : v;
}

export function addValue(sketch: Sketch, picocents: bigint, count = 1): void {
  addKey(sketch, bucketOf(picocents), count);
}

/** Takes a value added before out again (count −1 at its bucket). */
export function removeValue(sketch: Sketch, picocents: bigint): void {
  addKey(sketch, bucketOf(picocents), -1);
}

/** Adds `count` (negative to take out) at bucket `key`, as stored and merged by the store. */
export function addKey(sketch: Sketch, key: number, count: number): void {
  const n = (sketch.get(key) ?? 0) + count;
  if (n === 0) sketch.delete(key);
  else sketch.set(key, n);
}

export function mergeInto(target: Sketch, other: Sketch): void {
  for (const [key, count] of other) addKey(target, key, count);
}

export function sketchCount(sketch: Sketch): number {
  let n = 0;
  for (const c of sketch.values()) n += c;
  return n;
}

/**
 * The buckets holding the values at quantiles `qs` (each in (0, 1]), ranked as DuckDB's quantile_disc ranks them — the
 * value at 0-based rank max(1, ⌈n·q⌉) − 1 — so a sketch answers within α of what the exact read answers. Null when
 * empty.
 */
export function quantileKeys(sketch: Sketch, qs: readonly number[]): Array<number | null> {
  const n = sketchCount(sketch);
  if (n <= 0) return qs.map(() => null);
  const keys = [...sketch.keys()].sort((a, b) => a - b);
  return qs.map((q) => {
    const rank = Math.max(1, Math.ceil(n * q)) - 1;
    let seen = 0;
    for (const key of keys) {
      seen += sketch.get(key) as number;
      if (seen > rank) return key;
    }
    return keys[keys.length - 1] as number;
  });
}

export function quantiles(sketch: Sketch, qs: readonly number[]): Array<bigint | null> {
  return quantileKeys(sketch, qs).map((k) => (k === null ? null : bucketValue(k)));
}

/**
 * The smallest value a bucket can hold, rounded down (picocents): every value at or above the exact quantile in
 * that bucket is at or above this, so outliers "at or above the p99" are taken from here.
 */
export function bucketFloor(key: number): bigint {
  if (key === 0) return 0n;
  const i = Math.abs(key) - 1;
  if (key > 0) return BigInt(Math.floor(GAMMA ** (i - 1)));
  return -BigInt(Math.ceil(GAMMA ** i));
}

/** As stored in DuckDB (VARCHAR): `{"key": count, …}`. */
export function sketchToJson(sketch: Sketch): string {
  return JSON.stringify(Object.fromEntries(sketch));
}

export function sketchFromJson(text: string): Sketch {
  const out: Sketch = new Map();
  for (const [key, count] of Object.entries(JSON.parse(text) as Record<string, number>)) out.set(Number(key), count);
  return out;
}
