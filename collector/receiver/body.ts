/**
 * Reads a request body with a byte cap that holds after decompression too (OTLP/HTTP spec, "Request
 * size": over the cap → 413). gzip is inflated as a stream and abandoned as soon as the output passes
 * the cap, so a decompression bomb costs at most `maxBytes` of memory. The rest of the upload is
 * drained (not buffered) so the client still receives the 413.
 */
import type { IncomingMessage } from 'node:http';
import { createGunzip, type Gunzip } from 'node:zlib';

export class BodyError extends Error {
  override readonly name = 'BodyError';
  constructor(
    readonly statusCode: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

export const SUPPORTED_CONTENT_ENCODINGS = ['gzip', 'identity'] as const;

export function readBody(req: IncomingMessage, contentEncoding: string | undefined, maxBytes: number): Promise<Buffer> {
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity' && encoding !== 'gzip') {
    req.resume();
    return Promise.reject(
      new BodyError(
        415,
        `unsupported Content-Encoding: ${clip(encoding)} (supported: ${SUPPORTED_CONTENT_ENCODINGS.join(', ')})`,
      ),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let outBytes = 0;
    let rawBytes = 0;
    let failure: BodyError | null = null;
    let settled = false;
    let requestEnded = false;
    const gunzip: Gunzip | null = encoding === 'gzip' ? createGunzip() : null;

    const finish = (): void => {
      if (settled) return;
      settled = true;
      if (failure) reject(failure);
      else resolve(Buffer.concat(chunks, outBytes));
    };
    const fail = (e: BodyError): void => {
      if (failure) return;
      failure = e;
      chunks.length = 0;
      gunzip?.destroy();
      // Once the upload is fully read nothing else will call finish().
      if (requestEnded) finish();
    };
    const tooLarge = (): BodyError => new BodyError(413, `request body exceeds the limit of ${maxBytes} bytes`);
    const collect = (chunk: Buffer): void => {
      if (failure) return;
      outBytes += chunk.length;
      if (outBytes > maxBytes) fail(tooLarge());
      else chunks.push(chunk);
    };

    if (gunzip) {
      gunzip.on('data', collect);
      gunzip.on('error', (err) => fail(new BodyError(400, `invalid gzip body: ${err.message}`)));
      gunzip.on('end', finish);
    }
    req.on('data', (chunk: Buffer) => {
      rawBytes += chunk.length;
      if (failure) return;
      if (rawBytes > maxBytes) fail(tooLarge());
      else if (gunzip) gunzip.write(chunk);
      else collect(chunk);
    });
    req.on('end', () => {
      requestEnded = true;
      if (gunzip && !failure) gunzip.end();
      else finish();
    });
    req.on('error', (err) => {
      fail(new BodyError(400, `request body could not be read: ${err.message}`));
      finish();
    });
  });
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
