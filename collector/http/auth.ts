/**
 * Bearer-token scopes (CONTRACT.md §1): ingest tokens for writes, read tokens for the API and the
 * dashboard's data, admin tokens for operations (snapshots). A scope with no tokens configured is open (allowed
 * only on loopback, see config) — except admin, which is open only when no tokens at all are configured.
 * Missing/unknown token → 401; a token of another scope → 403.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

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
