/**
 * Shared parts of the Anthropic-side producer tests: Anthropic's public prices and the exact expected cost of a
 * call (BigInt picocents, never float sums), the child process that runs a real producer
 * (test/fixtures/anthropic-producers.mjs), and readers for the collector's HTTP API.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AnthropicUsage } from './fake-anthropic.ts';

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL('../fixtures/anthropic-producers.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Anthropic's public prices, USD per million tokens, as decimal strings (cache write = the 5-minute rate). */
export interface AnthropicRates {
  readonly input: string;
  readonly cacheWrite: string;
  readonly cacheRead: string;
  readonly output: string;
}
export const SONNET_4 = 'claude-sonnet-4-20250514';
export const HAIKU_3_5 = 'claude-3-5-haiku-latest';
export const PUBLIC_PRICES: Readonly<Record<string, AnthropicRates>> = {
  [SONNET_4]: { input: '3', cacheWrite: '3.75', cacheRead: '0.30', output: '15' },
  [HAIKU_3_5]: { input: '0.80', cacheWrite: '1.00', cacheRead: '0.08', output: '4' },
};

/** 1 cent = 10^12 picocents. USD per MTok → picocents per token: × 100 cents ÷ 10^6 tokens × 10^12 = × 10^8. */
const PICOCENTS_PER_TOKEN_PER_USD_PER_MTOK = 10n ** 8n;

/** A decimal string × 10^8, exactly (at most 8 decimals). */
function ratePicocentsPerToken(usdPerMtok: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,8}))?$/.exec(usdPerMtok);
  if (!match) throw new Error(`bad rate ${usdPerMtok}`);
  const [, whole = '0', frac = ''] = match;
  return BigInt(whole) * PICOCENTS_PER_TOKEN_PER_USD_PER_MTOK + BigInt(frac.padEnd(8, '0'));
}

/** The call's cost in picocents: Anthropic's `input_tokens` (no cache) + cache writes + cache reads + output. */
export function expectedPicocents(model: string, usage: AnthropicUsage): bigint {
  const rates = PUBLIC_PRICES[model];
  if (!rates) throw new Error(`no public price for ${model}`);
  return (
    BigInt(usage.input_tokens) * ratePicocentsPerToken(rates.input) +
    BigInt(usage.cache_creation_input_tokens ?? 0) * ratePicocentsPerToken(rates.cacheWrite) +
    BigInt(usage.cache_read_input_tokens ?? 0) * ratePicocentsPerToken(rates.cacheRead) +
    BigInt(usage.output_tokens) * ratePicocentsPerToken(rates.output)
  );
}

/** A USD decimal string (a provider-reported cost) in picocents: × 100 × 10^12. */
export function usdToPicocents(usd: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,14}))?$/.exec(usd);
  if (!match) throw new Error(`bad USD amount ${usd}`);
  const [, whole = '0', frac = ''] = match;
  return BigInt(whole) * 10n ** 14n + BigInt(frac.padEnd(14, '0'));
}

/** Picocents as the API's exact decimal cents string: no trailing zeros, no trailing point. */
export function centsString(picocents: bigint): string {
  const whole = picocents / 10n ** 12n;
  const frac = (picocents % 10n ** 12n).toString().padStart(12, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : `${whole}`;
}

/** One call a producer makes: `key` is the scenario key the fake API picks the usage by. */
export interface ProducerCall {
  readonly name: string;
  readonly customer: string;
  readonly model: string;
  readonly key?: string;
  readonly stream?: boolean;
  readonly usageDetails?: Readonly<Record<string, number>>;
  readonly costDetails?: Readonly<Record<string, number>>;
}

export interface ProducerRun {
  /** Trace id by call name. */
  readonly traces: Map<string, string>;
  /** Export failures (the collector's refusals), which the app survives as a real one would. */
  readonly exportErrors: string[];
}

/** Runs `producer` in a child Node process making `calls`, exporting to `otlpUrl`. */
export async function runProducer(
  producer: string,
  calls: readonly ProducerCall[],
  env: { anthropicUrl?: string; otlpUrl: string },
): Promise<ProducerRun> {
  const { stdout } = await run(process.execPath, [FIXTURE], {
    cwd: ROOT,
    timeout: 60_000,
    env: {
      ...process.env,
      PRODUCER: producer,
      ANTHROPIC_URL: env.anthropicUrl ?? '',
      OTLP_URL: env.otlpUrl,
      CALLS: JSON.stringify(calls),
    },
  });
  const lines = stdout.trim().split('\n');
  const { calls: out, exportErrors } = JSON.parse(lines[lines.length - 1] ?? '{}') as {
    calls: { name: string; traceId: string }[];
    exportErrors: string[];
  };
  return { traces: new Map(out.map((c) => [c.name, c.traceId])), exportErrors };
}

export interface SpanNode {
  span_id: string;
  parent_span_id: string | null;
  name: string;
  customer_id: string | null;
  cost: number | null;
  cost_exact: string | null;
  cost_source: string | null;
  children: SpanNode[];
}
export interface TraceTree {
  trace_id: string;
  customer_id: string | null;
  total_cost: number;
  total_cost_exact: string;
  spans: SpanNode[];
}

const flatten = (nodes: SpanNode[]): SpanNode[] => nodes.flatMap((n) => [n, ...flatten(n.children)]);

/** The stored trace and its spans, flattened; fails unless the trace is there. */
export async function readTrace(
  collectorUrl: string,
  traceId: string,
): Promise<{ tree: TraceTree; spans: SpanNode[] }> {
  const res = await fetch(`${collectorUrl}/v1/traces/${traceId}`);
  if (res.status !== 200) throw new Error(`GET /v1/traces/${traceId} → ${res.status}: ${await res.text()}`);
  const tree = (await res.json()) as TraceTree;
  return { tree, spans: flatten(tree.spans) };
}

/** Spans that carry a cost (a non-null `cost`). */
export const costed = (spans: SpanNode[]): SpanNode[] => spans.filter((s) => s.cost !== null || s.cost_exact !== null);

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
/** `start_date`/`end_date` around now (yesterday to tomorrow, UTC), so a run at midnight still sees its spans. */
export const aroundToday = () => `start_date=${day(-1)}&end_date=${day(1)}`;

export interface CostDrivers {
  total_cost: number;
  groups: { key: string | null; cost: number; records: number; traces: number }[];
}

export async function readJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url} → ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

export interface UnpricedModels {
  items: { vendor: string | null; model: string | null; reason: string | null; spans: number }[];
}
