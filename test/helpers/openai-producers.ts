/**
 * Runs one LLM call from a real OpenAI-side producer (test/fixtures/openai-producer.cjs in a child Node process,
 * exporting with the official OTLP exporter) and reads back what the collector made of it. Also the public
 * OpenAI prices and the exact cost arithmetic the tests compare against.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FakeUsage } from './fake-openai.ts';

const run = promisify(execFile);
const APP = fileURLToPath(new URL('../fixtures/openai-producer.cjs', import.meta.url));

export type Producer = 'otel' | 'openllmetry' | 'openinference' | 'aisdk';

export interface ProducerCall {
  readonly producer: Producer;
  readonly api: 'chat' | 'responses';
  readonly model: string;
  readonly stream: boolean;
  /** `stream_options.include_usage` on a chat stream (the AI SDK always asks for it). */
  readonly includeUsage?: boolean;
  readonly customer: string;
}

/** Runs the call in a child process; the spans are exported before it exits. Returns the trace id. */
export async function runProducer(
  call: ProducerCall,
  urls: { openai: string; collector: string },
  dumpFile?: string,
): Promise<string> {
  const { stdout } = await run(process.execPath, [APP], {
    env: {
      ...process.env,
      PRODUCER: call.producer,
      CALL: JSON.stringify(call),
      FAKE_OPENAI_URL: urls.openai,
      COLLECTOR_URL: urls.collector,
      ...(dumpFile ? { SPANS_DUMP: dumpFile } : {}),
    },
  });
  return (JSON.parse(stdout.trim()) as { traceId: string }).traceId;
}

/** OpenAI's public prices, USD per million tokens, as decimal strings. */
export const PUBLIC_PRICES: Readonly<Record<string, { input: string; cached: string; output: string }>> = {
  'gpt-4o-mini': { input: '0.15', cached: '0.075', output: '0.60' },
  'gpt-4o': { input: '2.50', cached: '1.25', output: '10.00' },
  'o4-mini': { input: '1.10', cached: '0.275', output: '4.40' },
};

const SCALE = 6; // decimal places kept from a price string
const scaled = (decimal: string): bigint => {
  const [whole = '0', frac = ''] = decimal.split('.');
  if (frac.length > SCALE) throw new Error(`price ${decimal} has more than ${SCALE} decimals`);
  return BigInt(whole + frac.padEnd(SCALE, '0'));
};

/** Formats `value / 10^places` as the shortest exact decimal string ("0.708", "12", "0.01974"). */
export function decimalString(value: bigint, places: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(places + 1, '0');
  const whole = digits.slice(0, digits.length - places);
  const frac = digits.slice(digits.length - places).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/**
 * What OpenAI bills for a call, in cents, exactly: `input` includes `cached`, which is billed at the cached rate
 * and the rest at the input rate; `output` includes `reasoning`, all billed once at the output rate.
 */
export function publicCostCents(model: string, usage: FakeUsage): string {
  const price = PUBLIC_PRICES[model];
  if (!price) throw new Error(`no public price for ${model}`);
  const cached = BigInt(usage.cached ?? 0);
  // tokens × (USD per Mtok × 10^SCALE) = USD × 10^(6 + SCALE) = cents × 10^(4 + SCALE)
  const centsScaled =
    (BigInt(usage.input) - cached) * scaled(price.input) +
    cached * scaled(price.cached) +
    BigInt(usage.output) * scaled(price.output);
  return decimalString(centsScaled, 4 + SCALE);
}

export interface SpanNode {
  span_id: string;
  parent_span_id: string | null;
  name: string;
  customer_id: string | null;
  cost: number | null;
  cost_exact: string | null;
  cost_source: string | null;
  attributes: Record<string, unknown>;
  children: SpanNode[];
}

export interface CostTrace {
  trace_id: string;
  customer_id: string | null;
  total_cost: number;
  total_cost_exact: string;
  spans: SpanNode[];
}

export const flatten = (nodes: SpanNode[]): SpanNode[] => nodes.flatMap((n) => [n, ...flatten(n.children)]);

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url} → ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

export const readTrace = (collector: string, traceId: string) =>
  getJson<CostTrace>(`${collector}/v1/traces/${traceId}`);

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
/** Yesterday to tomorrow (UTC), so a run across midnight still sees its spans. */
const window = () => `start_date=${day(-1)}&end_date=${day(1)}`;

export interface DriverGroup {
  key: string | null;
  cost: number;
  records: number;
  traces: number;
}

export const readVendorDrivers = async (collector: string, customer: string) =>
  (
    await getJson<{ groups: DriverGroup[] }>(
      `${collector}/v1/cost-drivers?group_by=vendor&${window()}&customer_id=${encodeURIComponent(customer)}`,
    )
  ).groups;

export interface UnpricedModel {
  vendor: string | null;
  model: string;
  spans: number;
}

export const readUnpriced = async (collector: string) =>
  (await getJson<{ items: UnpricedModel[] }>(`${collector}/v1/prices/unpriced?${window()}`)).items;
