import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, parseServeConfig } from '../../collector/config.ts';

describe('serve configuration', () => {
  it('uses the contract defaults', () => {
    expect(parseServeConfig([], {})).toEqual({
      host: '127.0.0.1',
      port: 4318,
      dbPath: './costtrace.duckdb',
      maxBodyBytes: DEFAULTS.maxBodyBytes,
      ingestTokens: [],
      readTokens: [],
      adminTokens: [],
      retainSpansDays: 0,
      billing: {},
    });
  });

  it('reads environment variables, and flags override them', () => {
    const env = {
      COSTTRACE_HOST: '::1',
      COSTTRACE_PORT: '9000',
      COSTTRACE_DB: '/tmp/a.duckdb',
      COSTTRACE_MAX_BODY_BYTES: '4096',
      COSTTRACE_INGEST_TOKEN: ' a , b,',
      COSTTRACE_READ_TOKEN: 'r',
      COSTTRACE_ADMIN_TOKEN: 'adm',
      COSTTRACE_POLAR_WEBHOOK_SECRET: 'pws',
      COSTTRACE_STRIPE_WEBHOOK_SECRET: 'whsec_s',
      COSTTRACE_POLAR_TOKEN: 'polar_oat_x',
      COSTTRACE_POLAR_API_URL: 'https://sandbox-api.polar.sh',
    };
    expect(parseServeConfig([], env)).toEqual({
      host: '::1',
      port: 9000,
      dbPath: '/tmp/a.duckdb',
      maxBodyBytes: 4096,
      ingestTokens: ['a', 'b'],
      readTokens: ['r'],
      adminTokens: ['adm'],
      retainSpansDays: 0,
      billing: {
        polarWebhookSecret: 'pws',
        stripeWebhookSecret: 'whsec_s',
        polarToken: 'polar_oat_x',
        polarApiUrl: 'https://sandbox-api.polar.sh',
      },
    });
    expect(parseServeConfig(['--port', '0', '--db', 'x.duckdb', '--host', 'localhost'], env)).toMatchObject({
      host: 'localhost',
      port: 0,
      dbPath: 'x.duckdb',
    });
  });

  it('lists every problem at once', () => {
    let err: unknown;
    try {
      parseServeConfig(['--port', '70000', '--max-body-bytes', 'lots', '--host', '0.0.0.0'], {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      '--port must be an integer from 0 to 65535, got "70000"',
      '--max-body-bytes must be an integer from 1024 to 1073741824, got "lots"',
      'refusing to listen on 0.0.0.0 without authentication: set COSTTRACE_INGEST_TOKEN and COSTTRACE_READ_TOKEN, or use a loopback host such as 127.0.0.1',
    ]);
  });

  it('allows a non-loopback address once both token scopes are set', () => {
    expect(
      parseServeConfig(['--host', '0.0.0.0'], { COSTTRACE_INGEST_TOKEN: 'i', COSTTRACE_READ_TOKEN: 'r' }).host,
    ).toBe('0.0.0.0');
  });

  it('reads and checks the DuckDB memory limit', () => {
    expect(parseServeConfig([], { COSTTRACE_DUCKDB_MEMORY_LIMIT: '4GB' }).duckdbMemoryLimit).toBe('4GB');
    expect(() => parseServeConfig([], { COSTTRACE_DUCKDB_MEMORY_LIMIT: 'lots' })).toThrow(
      'COSTTRACE_DUCKDB_MEMORY_LIMIT must be a size such as "2GB", got "lots"',
    );
  });

  it('checks the Polar API URL', () => {
    expect(() => parseServeConfig([], { COSTTRACE_POLAR_API_URL: 'api.polar.sh' })).toThrow(
      'COSTTRACE_POLAR_API_URL must be an http(s) URL, got "api.polar.sh"',
    );
  });

  it('rejects unknown flags', () => {
    expect(() => parseServeConfig(['--bogus'], {})).toThrow(/Unknown option '--bogus'/);
  });
});
