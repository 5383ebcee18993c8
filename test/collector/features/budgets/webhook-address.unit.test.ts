/**
 * The per-budget webhook address policy (docs/contract.md §12 v3, collector/features/budgets/webhook-address.ts), as tables:
 * every spelling of loopback, private, link-local and metadata targets is refused; with allowPrivate, loopback and
 * private pass but metadata and link-local never do; names are judged on what the (injected) resolver answers.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseServeConfig } from '../../../../collector/config.ts';
import {
  type AddressKind,
  checkWebhookUrl,
  checkWebhookUrlSyntax,
  classifyAddress,
  type HostResolver,
} from '../../../../collector/features/budgets/webhook-address.ts';

describe('classifyAddress', () => {
  const table: Array<[string, AddressKind]> = [
    ['93.184.215.14', 'public'],
    ['8.8.8.8', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.1.2', 'loopback'],
    ['0.0.0.0', 'loopback'],
    ['::1', 'loopback'],
    ['::', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.10', 'private'],
    ['100.64.0.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['2002:c0a8:0101::1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['224.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['ff02::1', 'reserved'],
    ['not an address', 'reserved'],
  ];
  it.each(table)('%s is %s', (ip, kind) => {
    expect(classifyAddress(ip)).toBe(kind);
  });
});

describe('checkWebhookUrlSyntax', () => {
  // [url, refused without allowPrivate, refused with allowPrivate]
  const table: Array<[string, boolean, boolean]> = [
    ['https://hooks.example.com/budget', false, false],
    ['http://93.184.215.14:8080/x', false, false],
    ['http://[2606:4700:4700::1111]/', false, false],
    ['http://127.0.0.1:9/', true, false],
    ['http://127.1/', true, false],
    ['http://0x7f000001/', true, false],
    ['http://2130706433/', true, false],
    ['http://017700000001/', true, false],
    ['http://0/', true, false],
    ['http://localhost/', true, false],
    ['http://LOCALHOST./', true, false],
    ['http://%6c%6fcalhost/', true, false],
    ['http://api.localhost/', true, false],
    ['http://[::1]/', true, false],
    ['http://[0:0:0:0:0:0:0:1]/', true, false],
    ['http://[::ffff:127.0.0.1]/', true, false],
    ['http://10.0.0.1/', true, false],
    ['http://printer.local/', true, false],
    ['http://intranet/', true, false],
    ['http://169.254.169.254/latest/meta-data/', true, true],
    ['http://[fd00:ec2::254]/', true, true],
    ['http://[::ffff:169.254.169.254]/', true, true],
    ['http://metadata.google.internal/computeMetadata/v1/', true, true],
    ['http://metadata.google.internal./', true, true],
    ['http://METADATA.GOOGLE.INTERNAL/', true, true],
    ['http://metadata/', true, true],
    ['http://169.254.10.10/', true, true],
    ['http://[fe80::1]/', true, true],
    ['ftp://hooks.example.com/', true, true],
    ['file:///etc/passwd', true, true],
    ['hooks.example.com/x', true, true],
    ['http://hooks.example.com/a b', true, true],
  ];
  it.each(table)('%s: refused %s, with allowPrivate %s', (url, strict, lax) => {
    expect(checkWebhookUrlSyntax(url, false).ok).toBe(!strict);
    expect(checkWebhookUrlSyntax(url, true).ok).toBe(!lax);
  });

  it('says why, naming the host and the setting that would allow it', () => {
    expect(checkWebhookUrlSyntax('http://127.1:8080/x', false)).toEqual({
      ok: false,
      reason:
        'must be a public address: 127.0.0.1 is a loopback address (allowed only with COSTTRACE_ALLOW_PRIVATE_WEBHOOKS=true)',
    });
    expect(checkWebhookUrlSyntax('http://[fd00:ec2::254]/', true)).toEqual({
      ok: false,
      reason: 'must be a public address: fd00:ec2::254 is a cloud metadata address (never allowed)',
    });
    expect(checkWebhookUrlSyntax('ftp://x.example/', false)).toEqual({ ok: false, reason: 'must be an http(s) URL' });
  });
});

describe('checkWebhookUrl (definition time, with the resolver)', () => {
  const zone: Record<string, string[]> = {
    'hooks.example.com': ['93.184.215.14', '2606:4700:4700::1111'],
    'rebind.example.com': ['93.184.215.14', '10.0.0.7'],
    'imds.example.com': ['169.254.169.254'],
    'lan.example.com': ['192.168.1.20'],
  };
  const asked: string[] = [];
  const resolve: HostResolver = async (host) => {
    asked.push(host);
    const found = zone[host];
    if (!found) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  const hang: HostResolver = () => new Promise(() => {});

  it.each([
    ['https://hooks.example.com/x', false, true],
    ['https://rebind.example.com/x', false, false],
    ['https://rebind.example.com/x', true, true],
    ['https://imds.example.com/x', true, false],
    ['https://lan.example.com/x', false, false],
    ['https://lan.example.com/x', true, true],
    // Does not resolve (yet): accepted; the send-time check on the resolved address holds the line.
    ['https://not-yet.example.com/x', false, true],
  ])('%s (allowPrivate %s): accepted %s', async (url, allowPrivate, ok) => {
    expect((await checkWebhookUrl(url, { allowPrivate, resolve }, 1_000)).ok).toBe(ok);
  });

  it('names what the host resolves to, never asks the resolver about literal addresses, and bounds the wait', async () => {
    expect(await checkWebhookUrl('https://imds.example.com/', { allowPrivate: true, resolve }, 1_000)).toEqual({
      ok: false,
      reason: 'must be a public address: imds.example.com resolves to a cloud metadata address (never allowed)',
    });
    asked.length = 0;
    await checkWebhookUrl('http://93.184.215.14/', { allowPrivate: false, resolve }, 1_000);
    expect(asked).toEqual([]);
    expect((await checkWebhookUrl('https://slow.example.com/', { allowPrivate: false, resolve: hang }, 50)).ok).toBe(
      true,
    );
  });
});

describe('COSTTRACE_ALLOW_PRIVATE_WEBHOOKS', () => {
  it.each([
    [undefined, undefined],
    ['false', undefined],
    ['true', true],
  ])('%s → allowPrivateWebhooks %s', (value, expected) => {
    const env = value === undefined ? {} : { COSTTRACE_ALLOW_PRIVATE_WEBHOOKS: value };
    expect(parseServeConfig([], env).alerts?.allowPrivateWebhooks).toBe(expected);
  });

  it('refuses anything but true or false, with the other problems', () => {
    expect(() => parseServeConfig([], { COSTTRACE_ALLOW_PRIVATE_WEBHOOKS: 'yes' })).toThrow(
      new ConfigError(['COSTTRACE_ALLOW_PRIVATE_WEBHOOKS must be true or false, got "yes"']),
    );
  });
});
