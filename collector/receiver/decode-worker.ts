/**
 * Worker thread body: decode + normalize one OTLP request off the main thread (they are ~40% of the
 * collector's per-span CPU; the main thread keeps HTTP, attribution and the DuckDB writer).
 */
import { parentPort } from 'node:worker_threads';
import { decodeTraceRequestJson } from '../decode/json.ts';
import { decodeTraceRequestProtobuf } from '../decode/protobuf.ts';
import { DecodeError } from '../decode/types.ts';
import { NO_PRICING, type Pricing } from '../features/prices/pricing.ts';
import { normalizeSpans } from '../pipeline/normalize.ts';
import type { DecodeRequest, DecodeResponse } from './decode-pool.ts';

let pricing: Pricing = NO_PRICING;

parentPort?.on('message', (req: DecodeRequest) => {
  if (req.kind === 'pricing') {
    pricing = req.pricing;
    return;
  }
  let res: DecodeResponse;
  try {
    const body = Buffer.from(req.body);
    const spans = req.encoding === 'json' ? decodeTraceRequestJson(body) : decodeTraceRequestProtobuf(body);
    const { records, rejected } = normalizeSpans(spans, pricing);
    res = { id: req.id, ok: true, received: spans.length, records, rejected };
  } catch (err) {
    res = {
      id: req.id,
      ok: false,
      decodeError: err instanceof DecodeError ? (err.kind as 'malformed' | 'too_large') : null,
      message: err instanceof Error ? err.message : String(err),
    };
  }
  try {
    parentPort?.postMessage(res);
  } catch (err) {
    // A reply that cannot be cloned is our fault, not the request's: answer this one request, keep the worker (and
    // every other request in flight on it) alive.
    parentPort?.postMessage({
      id: req.id,
      ok: false,
      decodeError: null,
      message: `reply could not be sent: ${err instanceof Error ? err.message : String(err)}`,
    } satisfies DecodeResponse);
  }
});
