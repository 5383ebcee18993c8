/**
 * Bearer-token scopes (docs/contract.md §1): ingest tokens for writes, read tokens for the API and the
 * dashboard's data, admin tokens for operations (snapshots). A scope with no tokens configured is open (allowed
 * only on loopback, see config) — except admin, which is open only when no tokens at all are configured.
 * Missing/unknown token → 401; a token of another scope → 403.
 *
 * The Host check (docs/contract.md §12 v3) defends the open scopes against DNS rebinding: a web page the user visits can
 * point its own name at 127.0.0.1 and then read or call an open collector as its own origin. While any scope is open
 * (ingest or read has no tokens — the default, loopback-only mode) a request must name a loopback host (localhost,
 * 127.0.0.0/8, [::1], any port) or one of COSTTRACE_ALLOWED_HOSTS, else 403. With ingest and read tokens set, every
 * route needs a token a rebinding page does not have, so Host is not checked — unless COSTTRACE_ALLOWED_HOSTS is
 * set, which then lists the names served besides loopback.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

export type Scope = 'ingest' | 'read' | 'admin' | 'public';

export type AuthOutcome = { ok: true } | { ok: false; status: 401 | 403; message: string };

export interface TokenSets {
  readonly ingest: readonly string[];
  readonly read: readonly string[];
  readonly admin?: readonly string[];
}

export function createAuthorizer(tokens: TokenSets): (scope: Scope, authorization: string | undefined) => AuthOutcome {
  const ingest = tokens.ingest.map(digest);
  const read = tokens.read.map(digest);
  const admin = (tokens.admin ?? []).map(digest);
  const anyTokens = ingest.length + read.length + admin.length > 0;
  return (scope, authorization) => {
    if (scope === 'public') return { ok: true };
    const wanted = scope === 'ingest' ? ingest : scope === 'read' ? read : admin;
    if (wanted.length === 0 && scope === 'admin' && anyTokens) {
      return { ok: false, status: 403, message: 'admin operations need an admin token (COSTTRACE_ADMIN_TOKEN)' };
    }
    if (wanted.length === 0) return { ok: true };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) return { ok: false, status: 401, message: 'missing bearer token (Authorization: Bearer <token>)' };
    const given = digest(match[1] as string);
    if (wanted.some((t) => timingSafeEqual(t, given))) return { ok: true };
    const others = [ingest, read, admin].filter((set) => set !== wanted).flat();
    if (others.some((t) => timingSafeEqual(t, given))) {
      return { ok: false, status: 403, message: `token is not valid for ${scope}` };
    }
    return { ok: false, status: 401, message: 'unknown bearer token' };
  };
}

/** Fixed-length digests so comparison time does not depend on where tokens differ. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

const HOST_REFUSED =
  'this Host is not served: with no tokens set costtrace answers only loopback hosts (localhost, 127.0.0.0/8, ' +
  '[::1]) against DNS rebinding; set COSTTRACE_INGEST_TOKEN and COSTTRACE_READ_TOKEN, and list other names in ' +
  'COSTTRACE_ALLOWED_HOSTS';

/** Checks a request's Host header (see the file comment); `allowedHosts` are names or addresses without a port. */
export function createHostCheck(
  tokens: TokenSets,
  allowedHosts: readonly string[],
): (hostHeader: string | undefined) => AuthOutcome {
  const openScope = tokens.ingest.length === 0 || tokens.read.length === 0;
  const allowed = new Set(allowedHosts.map(normalizeHostName));
  if (!openScope && allowed.size === 0) return () => ({ ok: true });
  return (hostHeader) => {
    const name = hostHeader === undefined ? null : hostNameOf(hostHeader);
    if (name !== null && (isLoopbackName(name) || allowed.has(name))) return { ok: true };
    return { ok: false, status: 403, message: HOST_REFUSED };
  };
}

/** The name or address of a Host header (`name[:port]`, `[v6][:port]`), lower-cased; null if it is not one. */
export function hostNameOf(hostHeader: string): string | null {
  const value = hostHeader.trim().toLowerCase();
  const bracketed = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(value);
  if (bracketed) return isIP(bracketed[1] as string) === 6 ? (bracketed[1] as string) : null;
  const plain = /^([a-z0-9._-]+)(?::\d{1,5})?$/.exec(value);
  return plain ? (plain[1] as string) : null;
}

/** A COSTTRACE_ALLOWED_HOSTS entry as hostNameOf answers it (brackets of an IPv6 address dropped). */
export function normalizeHostName(entry: string): string {
  const value = entry.trim().toLowerCase();
  return value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
}

/** localhost, 127.0.0.0/8, ::1 (and 127.0.0.0/8 mapped into IPv6): names no DNS answer can move. */
function isLoopbackName(name: string): boolean {
  if (name === 'localhost' || name === '::1') return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(name);
  return mapped !== null && isIP(mapped[1] as string) === 4 && (mapped[1] as string).startsWith('127.');
}
