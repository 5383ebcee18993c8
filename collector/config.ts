/**
 * `costtrace serve` configuration (docs/contract.md §1): flags override environment variables, which
 * override defaults. Validated once at start-up; every problem is reported together.
 */
import { statSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { BillingOptions } from './collector.ts';
import { hostNameOf, normalizeHostName } from './http/auth.ts';

export interface ServeConfig {
  readonly host: string;
  readonly port: number;
  readonly dbPath: string;
  readonly maxBodyBytes: number;
  readonly ingestTokens: readonly string[];
  readonly readTokens: readonly string[];
  /** Raw spans older than this many days are removed (summaries keep every answer); 0 keeps everything. */
  readonly retainSpansDays: number;
  /** COSTTRACE_ADMIN_TOKEN: operations such as snapshots. */
  readonly adminTokens: readonly string[];
  /** COSTTRACE_ALLOWED_HOSTS (needs ingest and read tokens): Host names served besides loopback. */
  readonly allowedHosts?: readonly string[];
  /** COSTTRACE_SNAPSHOT_DIR: an existing folder; snapshots are written only inside it. */
  readonly snapshotDir?: string;
  /** DuckDB memory_limit (COSTTRACE_DUCKDB_MEMORY_LIMIT), e.g. "2GB"; undefined for the default. */
  readonly duckdbMemoryLimit?: string;
  /** `--prices FILE` / COSTTRACE_PRICES_FILE: the price book to price spans with. */
  readonly pricesFile?: string;
  /** COSTTRACE_POLAR_WEBHOOK_SECRET, COSTTRACE_STRIPE_WEBHOOK_SECRET, COSTTRACE_POLAR_TOKEN, COSTTRACE_POLAR_API_URL. */
  readonly billing: BillingOptions;
  /** COSTTRACE_ALERT_WEBHOOK_URL, COSTTRACE_ALERT_WEBHOOK_SECRET, COSTTRACE_ALLOW_PRIVATE_WEBHOOKS (true|false). */
  readonly alerts?: { readonly url?: string; readonly secret?: string; readonly allowPrivateWebhooks?: boolean };
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 4318,
  dbPath: './costtrace.duckdb',
  // The OpenTelemetry Collector's default max_request_body_size (confighttp).
  maxBodyBytes: 20 * 1024 * 1024,
} as const;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

export function parseServeConfig(argv: readonly string[], env: Env): ServeConfig {
  const problems: string[] = [];
  let values: Record<string, string | boolean | undefined> = {};
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        db: { type: 'string' },
        'max-body-bytes': { type: 'string' },
        'retain-spans-days': { type: 'string' },
        prices: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    problems.push((err as Error).message);
  }
  const pick = (flag: string, envName: string): string | undefined => {
    const v = values[flag];
    return typeof v === 'string' ? v : env[envName];
  };
  const host = pick('host', 'COSTTRACE_HOST') ?? DEFAULTS.host;
  const port = parseInteger(pick('port', 'COSTTRACE_PORT'), DEFAULTS.port, 0, 65535, '--port', problems);
  const dbPath = pick('db', 'COSTTRACE_DB') ?? DEFAULTS.dbPath;
  const maxBodyBytes = parseInteger(
    pick('max-body-bytes', 'COSTTRACE_MAX_BODY_BYTES'),
    DEFAULTS.maxBodyBytes,
    1024,
    1024 * 1024 * 1024,
    '--max-body-bytes',
    problems,
  );
  const ingestTokens = splitTokens(env.COSTTRACE_INGEST_TOKEN);
  const readTokens = splitTokens(env.COSTTRACE_READ_TOKEN);
  const adminTokens = splitTokens(env.COSTTRACE_ADMIN_TOKEN);
  const retainSpansDays = parseInteger(
    pick('retain-spans-days', 'COSTTRACE_RETAIN_SPANS_DAYS'),
    0,
    0,
    36_500,
    '--retain-spans-days',
    problems,
  );
  const pricesFile = pick('prices', 'COSTTRACE_PRICES_FILE');
  if (pricesFile === '') problems.push('--prices must not be empty');
  if (host === '') problems.push('--host must not be empty');
  if (dbPath === '') problems.push('--db must not be empty');
  if ((ingestTokens.length === 0 || readTokens.length === 0) && !isLoopback(host)) {
    problems.push(
      `refusing to listen on ${host} without authentication: set COSTTRACE_INGEST_TOKEN and COSTTRACE_READ_TOKEN, or use a loopback host such as 127.0.0.1`,
    );
  }
  const allowedHosts = splitTokens(env.COSTTRACE_ALLOWED_HOSTS).map(normalizeHostName);
  for (const name of allowedHosts) {
    if (hostNameOf(name.includes(':') ? `[${name}]` : name) !== name) {
      problems.push(`COSTTRACE_ALLOWED_HOSTS: "${name}" is not a host name or address (no scheme, no port)`);
    }
  }
  if (allowedHosts.length > 0 && (ingestTokens.length === 0 || readTokens.length === 0)) {
    problems.push(
      'COSTTRACE_ALLOWED_HOSTS needs COSTTRACE_INGEST_TOKEN and COSTTRACE_READ_TOKEN: without them only loopback hosts are served (DNS rebinding)',
    );
  }
  const snapshotDir = env.COSTTRACE_SNAPSHOT_DIR === undefined ? undefined : resolve(env.COSTTRACE_SNAPSHOT_DIR);
  if (snapshotDir !== undefined && !isFolder(snapshotDir)) {
    problems.push(`COSTTRACE_SNAPSHOT_DIR must be an existing folder, got "${env.COSTTRACE_SNAPSHOT_DIR}"`);
  }
  const polarApiUrl = env.COSTTRACE_POLAR_API_URL;
  if (polarApiUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(polarApiUrl)) {
    problems.push(`COSTTRACE_POLAR_API_URL must be an http(s) URL, got "${polarApiUrl}"`);
  }
  const billing: BillingOptions = {
    ...(env.COSTTRACE_POLAR_WEBHOOK_SECRET ? { polarWebhookSecret: env.COSTTRACE_POLAR_WEBHOOK_SECRET } : {}),
    ...(env.COSTTRACE_STRIPE_WEBHOOK_SECRET ? { stripeWebhookSecret: env.COSTTRACE_STRIPE_WEBHOOK_SECRET } : {}),
    ...(env.COSTTRACE_POLAR_TOKEN ? { polarToken: env.COSTTRACE_POLAR_TOKEN } : {}),
    ...(polarApiUrl ? { polarApiUrl } : {}),
  };
  const alertUrl = env.COSTTRACE_ALERT_WEBHOOK_URL;
  const alertSecret = env.COSTTRACE_ALERT_WEBHOOK_SECRET;
  if (alertUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(alertUrl)) {
    problems.push(`COSTTRACE_ALERT_WEBHOOK_URL must be an http(s) URL, got "${alertUrl}"`);
  }
  if (alertSecret !== undefined && !/^whsec_[A-Za-z0-9+/=]+$/.test(alertSecret)) {
    problems.push('COSTTRACE_ALERT_WEBHOOK_SECRET must be a Standard Webhooks secret: whsec_<base64>');
  }
  const allowPrivate = env.COSTTRACE_ALLOW_PRIVATE_WEBHOOKS;
  if (allowPrivate !== undefined && allowPrivate !== 'true' && allowPrivate !== 'false') {
    problems.push(`COSTTRACE_ALLOW_PRIVATE_WEBHOOKS must be true or false, got "${allowPrivate}"`);
  }
  if (alertUrl !== undefined && alertSecret === undefined) {
    problems.push('COSTTRACE_ALERT_WEBHOOK_URL needs COSTTRACE_ALERT_WEBHOOK_SECRET: alerts are always signed');
  }
  const memory = env.COSTTRACE_DUCKDB_MEMORY_LIMIT;
  if (memory !== undefined && !/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(memory.trim())) {
    problems.push(`COSTTRACE_DUCKDB_MEMORY_LIMIT must be a size such as "2GB", got "${memory}"`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    host,
    port,
    dbPath,
    maxBodyBytes,
    ingestTokens,
    readTokens,
    adminTokens,
    ...(allowedHosts.length > 0 ? { allowedHosts } : {}),
    ...(snapshotDir === undefined ? {} : { snapshotDir }),
    retainSpansDays,
    billing,
    ...(alertUrl || alertSecret || allowPrivate === 'true'
      ? {
          alerts: {
            ...(alertUrl ? { url: alertUrl } : {}),
            ...(alertSecret ? { secret: alertSecret } : {}),
            ...(allowPrivate === 'true' ? { allowPrivateWebhooks: true } : {}),
          },
        }
      : {}),
    ...(memory === undefined ? {} : { duckdbMemoryLimit: memory.trim() }),
    ...(pricesFile === undefined ? {} : { pricesFile }),
  };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function splitTokens(v: string | undefined): string[] {
  return (v ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

function parseInteger(
  v: string | undefined,
  fallback: number,
  min: number,
  max: number,
  name: string,
  problems: string[],
): number {
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v.trim()) || Number(v) < min || Number(v) > max) {
    problems.push(`${name} must be an integer from ${min} to ${max}, got "${v}"`);
    return fallback;
  }
  return Number(v);
}
