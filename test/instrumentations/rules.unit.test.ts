import { describe, expect, it } from 'vitest';
import { dbCost, httpCost } from '../../instrumentations/rules.ts';
import { formatPicocents } from '../../src/money.ts';

const fmt = (p: bigint | null) => (p === null ? null : formatPicocents(p));
const EMAIL = { host: 'api.mail.example', method: 'POST', path: '/v3/mail/*', centsPerRequest: 0.1 };

describe('HTTP cost rules', () => {
  it.each([
    [
      {
        'server.address': 'api.mail.example',
        'http.request.method': 'POST',
        'url.full': 'https://api.mail.example/v3/mail/send',
      },
      '0.1',
    ],
    [{ 'server.address': 'API.MAIL.EXAMPLE', 'http.request.method': 'post', 'url.path': '/v3/mail/send?x=1' }, '0.1'],
    [{ 'net.peer.name': 'api.mail.example', 'http.method': 'POST', 'http.target': '/v3/mail/send' }, '0.1'],
    [{ 'server.address': 'api.mail.example', 'http.request.method': 'GET', 'url.path': '/v3/mail/send' }, null],
    [{ 'server.address': 'api.mail.example', 'http.request.method': 'POST', 'url.path': '/v2/other' }, null],
    [{ 'server.address': 'other.example', 'http.request.method': 'POST', 'url.path': '/v3/mail/send' }, null],
    [{ 'db.system': 'postgresql' }, null],
  ])('%j → %s', (attributes, expected) => {
    expect(fmt(httpCost([EMAIL], { attributes, durationMs: 5 }))).toBe(expected);
  });

  it('adds per-byte prices exactly, with wildcard hosts', () => {
    const rule = { host: '*.storage.example', centsPerRequest: '0.0004', centsPerResponseByte: '0.000000009' };
    const attributes = {
      'url.full': 'https://eu.storage.example/obj/1',
      'http.request.method': 'GET',
      'http.response.body.size': 1_000_000,
    };
    expect(fmt(httpCost([rule], { attributes, durationMs: 1 }))).toBe('0.0094');
  });

  it('takes the first matching rule', () => {
    const rules = [EMAIL, { host: 'api.mail.example', centsPerRequest: 5 }];
    const attributes = { 'server.address': 'api.mail.example', 'http.request.method': 'GET', 'url.path': '/' };
    expect(fmt(httpCost(rules, { attributes, durationMs: 1 }))).toBe('5');
  });

  it('throws (for the processor to guard) when a rule gives a bad amount', () => {
    const rule = { host: 'x.example', centsPerRequest: () => 'lots' };
    expect(() =>
      httpCost([rule], { attributes: { 'server.address': 'x.example', 'http.request.method': 'GET' }, durationMs: 1 }),
    ).toThrow(/cost rule gave lots/);
  });
});

describe('database cost rules', () => {
  const rules = [
    { system: 'postgresql', operation: 'INSERT', centsPerQuery: 0.002 },
    { system: 'postgresql', centsPerQuery: '0.001', centsPerMs: '0.0005' },
  ];
  it.each([
    [{ 'db.system': 'postgresql', 'db.statement': 'insert into t values (1)' }, 12.5, '0.002'],
    [{ 'db.system': 'postgresql', 'db.statement': 'SELECT 1' }, 12.5, '0.00725'],
    [{ 'db.system.name': 'postgresql', 'db.operation.name': 'SELECT' }, 0.0014, '0.0010005'], // priced at µs resolution: 1 µs,
    [{ 'db.system': 'mysql', 'db.statement': 'SELECT 1' }, 3, null],
    [{ 'http.request.method': 'GET' }, 3, null],
  ])('%j over %d ms → %s', (attributes, durationMs, expected) => {
    expect(fmt(dbCost(rules, { attributes, durationMs }))).toBe(expected);
  });
});
