/**
 * The one layout of a `records` row (schema.ts): spans and events are both written through `appendRecord`,
 * so the 27 positional Appender columns are listed once, in table order.
 */
import { type DuckDBAppender, timestampValue } from '@duckdb/node-api';
import type { SpanRecord } from '../../src/records.ts';
import { appendMoneyOrNull, appendVarcharOrNull } from './appender.ts';

/** A span's fields (events fill the same ones), plus what attribution and the event tree add. */
export interface RecordRow extends Omit<SpanRecord, 'costSource' | 'llmCall'> {
  readonly source: 'span' | 'event' | 'allocation';
  readonly costSource: string | null;
  readonly chainCustomer: string | null;
  readonly attributionPending: boolean;
  readonly customerId: string | null;
  readonly customerKey: number | undefined;
  /** Events: the id of the event tree's root; spans: null (their tree is the trace). */
  readonly rootKey: string | null;
  readonly rootPending: boolean;
}

/** Appends one row; `ingestedAt` is shared by the batch (a TIMESTAMP value made once). */
export function appendRecord(app: DuckDBAppender, r: RecordRow, ingestedAt: ReturnType<typeof timestampValue>): void {
  app.appendVarchar(r.source);
  app.appendVarchar(r.traceId);
  app.appendVarchar(r.spanId);
  appendVarcharOrNull(app, r.parentSpanId);
  app.appendVarchar(r.name);
  app.appendUInteger(r.kind);
  appendVarcharOrNull(app, r.serviceName);
  app.appendVarchar(r.scopeName);
  app.appendUBigInt(r.startTimeUnixNano);
  app.appendUBigInt(r.endTimeUnixNano);
  app.appendTimestamp(timestampValue(r.startTimeUnixNano / 1000n)); // ts: the start, µs
  app.appendUInteger(r.statusCode);
  appendVarcharOrNull(app, r.customerOwn);
  appendVarcharOrNull(app, r.resourceCustomer);
  appendVarcharOrNull(app, r.chainCustomer);
  app.appendBoolean(r.attributionPending);
  appendVarcharOrNull(app, r.customerId);
  if (r.customerKey === undefined) app.appendNull();
  else app.appendInteger(r.customerKey);
  appendMoneyOrNull(app, r.costPicocents);
  appendVarcharOrNull(app, r.costSource);
  appendMoneyOrNull(app, r.revenuePicocents);
  app.appendVarchar(r.attributesJson);
  app.appendTimestamp(ingestedAt);
  appendVarcharOrNull(app, r.llmVendor);
  appendVarcharOrNull(app, r.llmModel);
  appendVarcharOrNull(app, r.rootKey);
  app.appendBoolean(r.rootPending);
  // Added by migration 6 (columns added later go last).
  if (r.priceVersion === null) app.appendNull();
  else app.appendInteger(r.priceVersion);
  app.endRow();
}
