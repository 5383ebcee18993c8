/**
 * The address policy of per-budget `webhook_url`s (docs/contract.md §12 v3): an http(s) URL to a public address.
 * Loopback, private, link-local and cloud-metadata targets are refused — when the budget is defined (422) and
 * again on the address the name resolves to when an alert is sent (DNS may have changed since, or answer
 * differently each time: the check runs on the very address the socket connects to, outbound.ts). With
 * `COSTTRACE_ALLOW_PRIVATE_WEBHOOKS=true` loopback and private targets are allowed; metadata and link-local ones
 * never are (that is where cloud credentials live). Only per-budget URLs are checked: `COSTTRACE_ALERT_WEBHOOK_URL`
 * and `COSTTRACE_POLAR_API_URL` are the operator's own settings and may point anywhere.
 *
 * Pure apart from the injected resolver. Addresses are matched with `node:net`'s BlockList; IPv6 forms that embed
 * an IPv4 address (mapped ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16, compatible ::/96) are judged by the
 * IPv4 address they reach. Every spelling of an address is reduced first: the WHATWG URL parser turns
 * `127.1`, `0x7f000001`, `2130706433`, `017700000001`, `[::ffff:127.0.0.1]`, `%6c%6fcalhost`… into one form.
 */
import { BlockList, isIP } from 'node:net';

export type AddressKind = 'public' | 'loopback' | 'private' | 'reserved' | 'link-local' | 'metadata';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to every address it has (the default is `dns.lookup` with `all: true`). */
export type HostResolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export interface WebhookPolicy {
  /** COSTTRACE_ALLOW_PRIVATE_WEBHOOKS=true: loopback and private (never metadata or link-local) targets allowed. */
  readonly allowPrivate: boolean;
  readonly resolve: HostResolver;
}

/** Cloud instance-metadata endpoints (AWS IMDS v4/v6 and ECS/EKS credentials, GCP, Azure, Oracle, Alibaba). */
const METADATA_ADDRESSES = [
  '169.254.169.254',
  '169.254.170.2',
  '169.254.170.23',
  '100.100.100.200',
  'fd00:ec2::254',
  'fd00:ec2::23',
] as const;
const METADATA_NAMES = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);
/** Names that only ever mean this machine or a private network (RFC 6761, RFC 6762, RFC 8375, ICANN 2024). */
const LOOPBACK_SUFFIX = '.localhost';
const PRIVATE_SUFFIXES = ['.local', '.localdomain', '.internal', '.home.arpa', '.lan', '.intranet'] as const;

function blockList(v4: readonly string[], v6: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of v4) {
    const [net, bits] = cidr.split('/') as [string, string];
    list.addSubnet(net, Number(bits), 'ipv4');
  }
  for (const cidr of v6) {
    const [net, bits] = cidr.split('/') as [string, string];
    list.addSubnet(net, Number(bits), 'ipv6');
  }
  return list;
}

const METADATA = new BlockList();
for (const a of METADATA_ADDRESSES) METADATA.addAddress(a, isIP(a) === 6 ? 'ipv6' : 'ipv4');
const LINK_LOCAL = blockList(['169.254.0.0/16'], ['fe80::/10']);
const LOOPBACK = blockList(['127.0.0.0/8', '0.0.0.0/8'], ['::1/128', '::/128']);
const PRIVATE = blockList(
  ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '198.18.0.0/15'],
  ['fc00::/7', 'fec0::/10', '64:ff9b:1::/48'],
);
/** Not reachable unicast on the internet: protocol assignments, documentation, multicast, reserved, broadcast. */
const RESERVED = blockList(
  ['192.0.0.0/24', '192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4'],
  ['ff00::/8', '2001:db8::/32', '3fff::/20', '100::/64', '2001::/23'],
);
const GLOBAL_UNICAST_V6 = blockList([], ['2000::/3']);

/** The 16 bytes of an IPv6 address (zone id dropped), or null. */
function ipv6Bytes(ip: string): number[] | null {
  const bare = ip.split('%')[0] as string;
  if (isIP(bare) !== 6) return null;
  // The URL parser writes any valid IPv6 in hex groups only (an embedded dotted quad becomes two groups).
  const canonical = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  const [head, tail] = canonical.includes('::') ? canonical.split('::') : [canonical, undefined];
  const left = head === '' || head === undefined ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return groups.flatMap((g) => {
    const n = Number.parseInt(g as string, 16);
    return [n >> 8, n & 0xff];
  });
}

/** The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64, 6to4), or null. */
function embeddedIpv4(bytes: readonly number[]): string | null {
  const zero = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  const quad = (at: number) => bytes.slice(at, at + 4).join('.');
  if (zero(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return quad(12); // ::ffff:a.b.c.d
  if (zero(0, 12) && !zero(12, 14)) return quad(12); // ::a.b.c.d (deprecated), not :: or ::1
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zero(4, 12)) {
    return quad(12); // 64:ff9b::a.b.c.d (NAT64)
  }
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return quad(2); // 2002:aabb:ccdd::/48 (6to4)
  return null;
}

/** What kind of target an IP address (v4 or v6, no brackets) is; not an IP address → 'reserved'. */
export function classifyAddress(ip: string): AddressKind {
  const family = isIP(ip.split('%')[0] as string);
  if (family === 4) {
    if (METADATA.check(ip, 'ipv4')) return 'metadata';
    if (LINK_LOCAL.check(ip, 'ipv4')) return 'link-local';
    if (LOOPBACK.check(ip, 'ipv4')) return 'loopback';
    if (PRIVATE.check(ip, 'ipv4')) return 'private';
    if (RESERVED.check(ip, 'ipv4')) return 'reserved';
    return 'public';
  }
  const bytes = family === 6 ? ipv6Bytes(ip) : null;
  if (bytes === null) return 'reserved';
  const v4 = embeddedIpv4(bytes);
  if (v4 !== null) return classifyAddress(v4);
  const bare = ip.split('%')[0] as string;
  if (METADATA.check(bare, 'ipv6')) return 'metadata';
  if (LINK_LOCAL.check(bare, 'ipv6')) return 'link-local';
  if (LOOPBACK.check(bare, 'ipv6')) return 'loopback';
  if (PRIVATE.check(bare, 'ipv6')) return 'private';
  if (RESERVED.check(bare, 'ipv6') || !GLOBAL_UNICAST_V6.check(bare, 'ipv6')) return 'reserved';
  return 'public';
}

/** Why a target of this kind is refused under the policy, or null when it is allowed. */
export function refusalOf(kind: AddressKind, allowPrivate: boolean): string | null {
  switch (kind) {
    case 'public':
      return null;
    case 'metadata':
      return 'a cloud metadata address (never allowed)';
    case 'link-local':
      return 'a link-local address (never allowed)';
    default:
      return allowPrivate ? null : `a ${kind} address (allowed only with COSTTRACE_ALLOW_PRIVATE_WEBHOOKS=true)`;
  }
}

/** A URL's host as a name to resolve or an address, lower-case, without brackets or trailing dots. */
export function hostOf(url: URL): string {
  const host = url.hostname.replace(/\.+$/, '');
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/** The kind of a host name known without resolving it (an IP literal or a reserved name), or null. */
export function classifyHost(host: string): AddressKind | null {
  if (isIP(host) !== 0) return classifyAddress(host);
  if (METADATA_NAMES.has(host)) return 'metadata';
  if (host === 'localhost' || host.endsWith(LOOPBACK_SUFFIX)) return 'loopback';
  if (PRIVATE_SUFFIXES.some((s) => host.endsWith(s)) || !host.includes('.')) return 'private';
  return null;
}

export type UrlCheck = { readonly ok: true; readonly url: URL } | { readonly ok: false; readonly reason: string };

/** What can be told of a webhook URL without the network: its scheme, and its host when it is literal or known. */
export function checkWebhookUrlSyntax(text: string, allowPrivate: boolean): UrlCheck {
  let url: URL;
  try {
    if (/\s/.test(text)) throw new Error('whitespace');
    url = new URL(text);
  } catch {
    return { ok: false, reason: 'must be an http(s) URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, reason: 'must be an http(s) URL' };
  const host = hostOf(url);
  if (host === '') return { ok: false, reason: 'must name a host' };
  const kind = classifyHost(host);
  const refusal = kind === null ? null : refusalOf(kind, allowPrivate);
  return refusal === null
    ? { ok: true, url }
    : { ok: false, reason: `must be a public address: ${host} is ${refusal}` };
}

/**
 * The definition-time check: the syntax, then (for a name) every address it resolves to now. A name that does not
 * resolve (yet) is accepted — the send-time check on the resolved address is what holds the line.
 */
export async function checkWebhookUrl(text: string, policy: WebhookPolicy, timeoutMs: number): Promise<UrlCheck> {
  const syntax = checkWebhookUrlSyntax(text, policy.allowPrivate);
  if (!syntax.ok) return syntax;
  const host = hostOf(syntax.url);
  if (isIP(host) !== 0) return syntax;
  let timer: NodeJS.Timeout | undefined;
  const addresses = await Promise.race([
    policy.resolve(host).catch(() => [] as const),
    new Promise<readonly ResolvedAddress[]>((resolve) => {
      timer = setTimeout(() => resolve([]), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  for (const a of addresses) {
    const refusal = refusalOf(classifyAddress(a.address), policy.allowPrivate);
    if (refusal !== null) return { ok: false, reason: `must be a public address: ${host} resolves to ${refusal}` };
  }
  return syntax;
}
