/**
 * Reads a request body with a byte cap that holds after decompression too (OTLP/HTTP spec, "Request
 * size": over the cap → 413). gzip is inflated as a stream and abandoned as soon as the output passes
 * the cap, so a decompression bomb costs at most `maxBytes` of memory. The rest of the upload is
 * drained (not buffered) so the client still receives the 413.
 *
 * Memory across requests: every body byte held is reserved from its kind's UploadBudget (OTLP, the JSON APIs,
 * and signed webhooks apart — they are read before their signature is checked, so unauthenticated uploads never
 * take the authenticated APIs' memory); when it is used up the request gets 429 (retryable) instead of growing
 * the heap. Slow senders hold only the bytes they
 * sent, so they cannot starve other uploads; a body that stalls is abandoned with 408.
 */
import type { IncomingMessage } from 'node:http';
import { createGunzip, type Gunzip } from 'node:zlib';
import { CollectorError } from '../core/errors.ts';
import { BODY_IDLE_TIMEOUT_MS } from '../core/limits.ts';

/** A body that cannot be read: malformed (bad gzip), stalled, too large, an unknown encoding, or over budget. */
export class BodyError extends CollectorError {
  override readonly name = 'BodyError';
  constructor(kind: 'malformed' | 'timeout' | 'too_large' | 'unsupported' | 'overloaded', message: string) {
    super(kind, message, kind === 'overloaded' ? 1 : undefined);
  }
}

/** A request holding at most this many bytes counts as small (a typical exporter batch is well under it). */
export const SMALL_BODY_BYTES = 1024 * 1024;

/**
 * Bytes of request bodies held in memory by all requests together. The last tenth is kept for small bodies:
 * large or slow uploads that fill the budget still leave room for ordinary batches from other clients.
 */
export class UploadBudget {
  private used = 0;
  private readonly largeCapacityBytes: number;

  constructor(readonly capacityBytes: number) {
    this.largeCapacityBytes = Math.floor(capacityBytes * 0.9);
  }

  get usedBytes(): number {
    return this.used;
  }

  /** Reserves `bytes` more for a request already holding `heldBytes`; false when the budget is used up. */
  tryReserve(bytes: number, heldBytes = 0): boolean {
    const cap = heldBytes + bytes > SMALL_BODY_BYTES ? this.largeCapacityBytes : this.capacityBytes;
    if (this.used + bytes > cap) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

/** A body read under the budget: `release()` once it (and what was decoded from it) is no longer needed. */
export interface HeldBody {
  readonly body: Buffer;
  release(): void;
}

export interface BodyLimits {
  readonly maxBytes: number;
  readonly budget: UploadBudget;
  /** Abandon the body after this long without a byte (default BODY_IDLE_TIMEOUT_MS). */
  readonly idleTimeoutMs?: number;
}

export const SUPPORTED_CONTENT_ENCODINGS = ['gzip', 'identity'] as const;

export function readBody(
  req: IncomingMessage,
  contentEncoding: string | undefined,
  limits: BodyLimits,
): Promise<HeldBody> {
  const { maxBytes, budget } = limits;
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity' && encoding !== 'gzip') {
    req.resume();
    return Promise.reject(
      new BodyError(
        'unsupported',
        `unsupported Content-Encoding: ${clip(encoding)} (supported: ${SUPPORTED_CONTENT_ENCODINGS.join(', ')})`,
      ),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let outBytes = 0;
    let reserved = 0;
    let rawBytes = 0;
    let failure: BodyError | null = null;
    let settled = false;
    let requestEnded = false;
    const gunzip: Gunzip | null = encoding === 'gzip' ? createGunzip() : null;
    const idleMs = limits.idleTimeoutMs ?? BODY_IDLE_TIMEOUT_MS;
    let idle: NodeJS.Timeout | null = null;
    const releaseAll = (): void => {
      budget.release(reserved);
      reserved = 0;
    };

    const settle = (): void => {
      if (settled) return;
      settled = true;
      if (idle) clearTimeout(idle);
      if (failure) {
        releaseAll();
        reject(failure);
        return;
      }
      let released = false;
      resolve({
        body: Buffer.concat(chunks, outBytes),
        release: () => {
          if (released) return;
          released = true;
          releaseAll();
        },
      });
    };
    const fail = (e: BodyError): void => {
      if (failure) return;
      failure = e;
      chunks.length = 0;
      releaseAll();
      gunzip?.destroy();
      // Once the upload is fully read nothing else will call settle().
      if (requestEnded) settle();
    };
    const armIdle = (): void => {
      if (idle) clearTimeout(idle);
      // A stalled sender is answered now (the reply closes the connection) rather than waited for.
      idle = setTimeout(() => {
        fail(new BodyError('timeout', `no request body bytes received for ${idleMs / 1000} s; closing`));
        settle();
      }, idleMs);
      idle.unref();
    };
    const tooLarge = (): BodyError => new BodyError('too_large', `request body exceeds the limit of ${maxBytes} bytes`);
    const collect = (chunk: Buffer): void => {
      if (failure) return;
      outBytes += chunk.length;
      if (outBytes > maxBytes) {
        fail(tooLarge());
        return;
      }
      if (!budget.tryReserve(chunk.length, reserved)) {
        const budgetBytes = budget.capacityBytes;
        fail(
          new BodyError(
            'overloaded',
            `server memory for request bodies is in use (upload budget of ${budgetBytes} bytes); retry later`,
          ),
        );
        return;
      }
      reserved += chunk.length;
      chunks.push(chunk);
    };

    if (gunzip) {
      gunzip.on('data', collect);
      gunzip.on('error', (err) => fail(new BodyError('malformed', `invalid gzip body: ${err.message}`)));
      gunzip.on('end', settle);
    }
    armIdle();
    req.on('data', (chunk: Buffer) => {
      rawBytes += chunk.length;
      if (!settled) armIdle();
      if (failure) return;
      if (rawBytes > maxBytes) fail(tooLarge());
      else if (gunzip) gunzip.write(chunk);
      else collect(chunk);
    });
    req.on('end', () => {
      requestEnded = true;
      if (idle) clearTimeout(idle);
      if (gunzip && !failure) gunzip.end();
      else settle();
    });
    req.on('error', (err) => {
      fail(new BodyError('malformed', `request body could not be read: ${err.message}`));
      settle();
    });
  });
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
