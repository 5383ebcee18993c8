/**
 * Worker thread body: decode + normalize one OTLP request off the main thread (they are ~40% of the
 * collector's per-span CPU; the main thread keeps HTTP, attribution and the DuckDB writer).
 */
import { parentPort } from 'node:worker_threads';
import { decodeTraceRequestJson } from '../decode/json.ts';
import { decodeTraceRequestProtobuf } from '../decode/protobuf.ts';
import { DecodeError } from '../decode/types.ts';
import { normalizeSpans } from '../pipeline/normalize.ts';
import { NO_PRICING, type Pricing } from '../prices/pricing.ts';
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
  parentPort?.postMessage(res);
});
