/** Runs a fixture app with the SDK's register hook and checks the cost tree the collector built from it. */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';

const run = promisify(execFile);

interface Node {
  name: string;
  customer_id: string;
  cost: number | null;
  revenue: number | null;
  children: Node[];
}
const flatten = (nodes: Node[]): Node[] => nodes.flatMap((n) => [n, ...flatten(n.children)]);

export interface TracedAppRun {
  readonly collectorUrl: string;
  readonly vendorsUrl: string;
  /** Where the app runs (its node_modules resolve @costtrace/node). */
  readonly cwd: string;
  /** Node arguments: the register flag and the app file. */
  readonly args: string[];
  readonly customer: string;
  /** A folder for the rules file. */
  readonly rulesDir: string;
}

/** The LLM call priced from the table, the email API priced by rule, the customer on every span. */
export async function expectPricedTrace(r: TracedAppRun): Promise<void> {
  const host = new URL(r.vendorsUrl).host.split(':')[0];
  const rules = join(r.rulesDir, 'rules.json');
  writeFileSync(rules, JSON.stringify({ http: [{ host, method: 'POST', path: '/v3/mail/*', centsPerRequest: 0.1 }] }));
  const { stdout } = await run(process.execPath, r.args, {
    cwd: r.cwd,
    env: {
      ...process.env,
      FAKE_VENDORS_URL: r.vendorsUrl,
      OTEL_EXPORTER_OTLP_ENDPOINT: r.collectorUrl,
      OTEL_SERVICE_NAME: `traced-app-${r.customer}`,
      COSTTRACE_RULES_FILE: rules,
    },
  });
  const { traceId } = JSON.parse(stdout.trim()) as { traceId: string };
  const res = await fetch(`${r.collectorUrl}/v1/traces/${traceId}`);
  expect(res.status).toBe(200);
  const tree = (await res.json()) as { customer_id: string; total_cost: number; spans: Node[] };
  expect(tree.customer_id).toBe(r.customer);
  expect(tree.total_cost).toBe(0.7);
  const spans = flatten(tree.spans);
  expect(spans.every((s) => s.customer_id === r.customer)).toBe(true);
  expect(spans.find((s) => s.name === 'POST /answer')?.revenue).toBe(250);
  expect(spans.find((s) => s.name === 'chat gpt-4o')?.cost).toBe(0.6);
  expect(spans.filter((s) => s.cost === 0.1)).toHaveLength(1);
}
