/**
 * One bounded outbound HTTP exchange (docs/contract.md §12 v3), shared by the budget alert sender and the Polar
 * forwarder: a time limit on connecting (TCP and TLS), a time limit on the whole exchange (resolving, connecting,
 * sending the body, the answer and reading its body), at most `maxResponseBytes` of the answer read, no redirect
 * followed (a 3xx is returned as it is; callers treat it as a failure), and optionally every address the host
 * resolves to checked before the socket connects to it (per-budget webhook URLs: webhook-address.ts).
 *
 * Why node:http and not fetch or undici: `fetch` (undici inside Node) follows redirects by default and offers no
 * connect hook to check the resolved address; both time limits there rest on AbortSignal.timeout, which on
 * Node 20 is lost once garbage collection runs when combined with AbortSignal.any (a hanging receiver held the
 * sender 70 s). The `undici` package would do, but it is not a dependency of the collector (only a transitive one
 * of test tools), and node:http gives exactly what is needed: the `lookup` hook (the check runs on the address
 * the socket actually uses — no second resolution an attacker's DNS could answer differently), no redirect
 * handling at all, and a stream to stop reading. Both limits are plain setTimeout timers, held by the event loop
 * until cleared, and the exchange settles when one fires whether or not the socket cooperates.
 */
import { lookup as dnsLookup } from 'node:dns';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';

export interface OutboundRequest {
  readonly url: string;
  readonly method: 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The whole exchange, from resolving the host to the last byte of the answer read. */
  readonly timeoutMs: number;
  /** Until the connection is open (TLS handshake included). */
  readonly connectTimeoutMs: number;
  /** Bytes of the answer's body read at most; the rest is not read (the connection is closed). */
  readonly maxResponseBytes: number;
  /** Ends the exchange early (shutdown). */
  readonly signal?: AbortSignal;
  /** Each address the host is (or resolves to) before connecting: a reason refuses the exchange. */
  readonly checkAddress?: (address: string) => string | null;
  /** How host names are resolved when `checkAddress` is set (tests inject one; default `dns.lookup`). */
  readonly resolve?: (hostname: string) => Promise<ReadonlyArray<{ address: string; family: 4 | 6 }>>;
}

export interface OutboundResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** At most `maxResponseBytes`. */
  readonly body: Buffer;
  /** True when the answer had more than `maxResponseBytes` (the rest was not read). */
  readonly truncated: boolean;
}

export type OutboundFailureKind = 'refused_address' | 'connect_timeout' | 'timeout' | 'network' | 'aborted';

/** Why an exchange failed; `message` is for the log (it may name addresses and ports). */
export class OutboundError extends Error {
  override readonly name = 'OutboundError';
  constructor(
    readonly kind: OutboundFailureKind,
    message: string,
  ) {
    super(message);
  }
}

/** `dns.lookup` with every address, in the resolver's order (what net.connect would use). */
export const systemResolver = (hostname: string) =>
  new Promise<ReadonlyArray<{ address: string; family: 4 | 6 }>>((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }))),
    ),
  );

/** A `lookup` for net.connect that resolves, then refuses the connection unless every address passes. */
function checkedLookup(
  check: (address: string) => string | null,
  resolve: NonNullable<OutboundRequest['resolve']>,
  refused: (reason: string) => void,
): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (found) => {
        const family =
          options.family === 4 || options.family === 'IPv4'
            ? 4
            : options.family === 6 || options.family === 'IPv6'
              ? 6
              : 0;
        const usable = found.filter((a) => family === 0 || a.family === family);
        for (const a of found) {
          const reason = check(a.address);
          if (reason !== null) {
            refused(`${hostname} resolves to ${a.address}: ${reason}`);
            return callback(Object.assign(new Error(`refused address ${a.address}`), { code: 'EREFUSEDADDRESS' }), '');
          }
        }
        if (usable.length === 0) {
          return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
        }
        if (options.all)
          return callback(
            null,
            usable.map((a) => ({ address: a.address, family: a.family })),
          );
        const first = usable[0] as { address: string; family: 4 | 6 };
        return callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  };
}

export function exchange(req: OutboundRequest): Promise<OutboundResponse> {
  return new Promise<OutboundResponse>((resolve, reject) => {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      reject(new OutboundError('network', `not a URL: ${req.url}`));
      return;
    }
    const https = url.protocol === 'https:';
    if (!https && url.protocol !== 'http:') {
      reject(new OutboundError('network', `not an http(s) URL: ${req.url}`));
      return;
    }
    let settled = false;
    let refusal: string | null = null;
    let response: IncomingMessage | null = null;
    let wholeTimer: NodeJS.Timeout | undefined;
    let connectTimer: NodeJS.Timeout | undefined;
    const finish = (outcome: { ok: OutboundResponse } | { err: OutboundError }) => {
      if (settled) return;
      settled = true;
      clearTimeout(wholeTimer);
      clearTimeout(connectTimer);
      req.signal?.removeEventListener('abort', onAbort);
      if ('ok' in outcome) resolve(outcome.ok);
      else reject(outcome.err);
      // After settling: a truncated answer or a failure closes the connection (agent: false, so never reused).
      response?.destroy();
      client.destroy();
    };
    const fail = (kind: OutboundFailureKind, message: string) => finish({ err: new OutboundError(kind, message) });
    const onAbort = () => fail('aborted', 'the exchange was cancelled');

    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    if (req.checkAddress && isIP(host) !== 0) {
      const reason = req.checkAddress(host);
      if (reason !== null) {
        reject(new OutboundError('refused_address', `${host}: ${reason}`));
        return;
      }
    }
    const lookup = req.checkAddress
      ? checkedLookup(req.checkAddress, req.resolve ?? systemResolver, (reason) => {
          refusal = reason;
        })
      : undefined;
    const client = (https ? httpsRequest : httpRequest)(url, {
      method: req.method,
      headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) },
      agent: false,
      ...(lookup ? { lookup } : {}),
    });
    wholeTimer = setTimeout(() => fail('timeout', `no complete answer within ${req.timeoutMs} ms`), req.timeoutMs);
    connectTimer = setTimeout(
      () => fail('connect_timeout', `not connected within ${req.connectTimeoutMs} ms`),
      req.connectTimeoutMs,
    );
    client.once('socket', (socket) => {
      socket.once(https ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
    });
    client.on('error', (err: NodeJS.ErrnoException) => {
      if (refusal !== null) fail('refused_address', refusal);
      else fail('network', err.code ? `${err.code}: ${err.message}` : err.message);
    });
    client.on('response', (res) => {
      response = res;
      const chunks: Buffer[] = [];
      let bytes = 0;
      const done = (truncated: boolean) =>
        finish({
          ok: { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), truncated },
        });
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        const room = req.maxResponseBytes - bytes;
        if (chunk.length > room) {
          chunks.push(chunk.subarray(0, room));
          bytes += room;
          done(true);
          return;
        }
        chunks.push(chunk);
        bytes += chunk.length;
      });
      res.on('end', () => done(false));
      res.on('error', (err) => fail('network', `the answer broke off: ${err.message}`));
      res.on('aborted', () => fail('network', 'the answer broke off'));
    });
    if (req.signal?.aborted) {
      onAbort();
      return;
    }
    req.signal?.addEventListener('abort', onAbort, { once: true });
    client.end(req.body);
  });
}
