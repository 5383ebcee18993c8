/**
 * Every limit the collector enforces, in one place (the README's "Limits" section lists them). Each is
 * chosen so that one client's input can neither fail another client's request nor grow memory or time
 * without bound; every refusal names the limit it hit.
 */
import { MAX_RECORD_AMOUNT_CENTS } from '../../src/money.ts';

export { MAX_RECORD_AMOUNT_CENTS };

/** Spans in one OTLP request. The JS SDK exports 512 at a time and the Collector's batcher 8,192 by default. */
export const MAX_SPANS_PER_REQUEST = 50_000;
/**
 * Attribute key/values (span and resource, nested ones included) decoded from one OTLP request: bounds the
 * objects one request can make however small its bytes (an empty attribute is 2 bytes on the wire).
 */
export const MAX_ATTRIBUTES_PER_REQUEST = 1_000_000;
/** Span, scope and service names, in characters (UTF-16 code units). */
export const MAX_NAME_LENGTH = 1024;
/** Customer ids, event ids and parent ids, in characters. */
export const MAX_ID_LENGTH = 256;
/** Events in one `POST /v1/events/ingest` request. */
export const MAX_EVENTS_PER_REQUEST = 10_000;
/** Metadata keys per event, and the length of each key (Polar documents the same two limits). */
export const MAX_METADATA_KEYS = 50;
export const MAX_METADATA_KEY_LENGTH = 40;
/** Times accepted and stored: Unix epoch up to 2^64 ns (2554-07-21T23:34:33Z), the range of OTLP's fixed64. */
export const MIN_TIME_UNIX_NANO = 0n;
export const MAX_TIME_UNIX_NANO = (1n << 64n) - 1n;
/** Calendar dates accepted by the read API (`start_date`, `end_date`): the days that hold storable times. */
export const MIN_DATE = '1970-01-01';
export const MAX_DATE = '2554-07-21';
/** `offset` of paged lists. */
export const MAX_OFFSET = 1_000_000_000;
/** Problems listed in a 422 (or partial-success message); the rest are counted. */
export const MAX_PROBLEMS_REPORTED = 100;
/** A request (headers and body) must be complete within this time, else the connection is closed (408). */
export const REQUEST_TIMEOUT_MS = 60_000;
/** A body that sends no byte for this long is abandoned (408). */
export const BODY_IDLE_TIMEOUT_MS = 10_000;
/** Request bodies held in memory at once, all uploads together (decompressed bytes, until decoded). */
export const DEFAULT_UPLOAD_BUDGET_BYTES = 256 * 1024 * 1024;
/** Body cap of the JSON APIs other than OTLP (events, customers). */
export const MAX_JSON_API_BODY_BYTES = 10 * 1024 * 1024;
/**
 * Request bodies of the signed webhooks held in memory at once. Webhooks are unauthenticated until their
 * signature is checked (after the body is read), so they get a budget of their own, apart from the upload
 * budget of the authenticated APIs: slow or large webhook uploads never make an event upload 429.
 */
export const WEBHOOK_UPLOAD_BUDGET_BYTES = 16 * 1024 * 1024;
/**
 * How far ahead of our clock a webhook signature's timestamp may be (clock skew). The `stripe` library checks a
 * signature's age only; Standard Webhooks (Polar) refuses the same 5 minutes either way.
 */
export const WEBHOOK_FUTURE_SKEW_SECONDS = 300;
/** Customer names and emails (customers API and billing webhooks alike), in characters. */
export const MAX_CUSTOMER_NAME_LENGTH = 500;
export const MAX_CUSTOMER_EMAIL_LENGTH = 320;

/** Price book (docs/contract.md §8): entries per list (models, http, db, spans), fixed bills, FX rates. */
export const MAX_BOOK_ENTRIES = 10_000;
export const MAX_BOOK_FIXED_BILLS = 1_000;
export const MAX_BOOK_FX_RATES = 100_000;
/** Tiers per model; keys per attribute filter. */
export const MAX_BOOK_TIERS = 16;
export const MAX_BOOK_FILTER_KEYS = 32;
/** Characters of one amount written as text in a price book (38 digits, a point, a sign and an exponent fit). */
export const MAX_AMOUNT_TEXT_LENGTH = 64;
/** Days per `POST /v1/prices/reprice` (each 15-minute slot is its own transaction). */
export const MAX_REPRICE_DAYS = 3_660;
/** Days per insights window. */
export const MAX_INSIGHT_DAYS = 366;
/** Thresholds per budget. */
export const MAX_BUDGET_THRESHOLDS = 10;
/** Meters defined at once (each adds work to every write that could match it). */
export const MAX_METERS = 100;
/** Attribute equalities in one meter's filter. */
export const MAX_METER_FILTER_ATTRIBUTES = 16;
/** A meter value counts (sum, max) only within ±this; beyond, it is treated as not numeric, so no sum can overflow. */
export const MAX_METER_VALUE = 10n ** 15n;

/**
 * Outbound calls (docs/contract.md §12 v3, collector/http/outbound.ts): a budget alert's whole exchange (resolving,
 * connecting, sending, the answer and its body) and a Polar forwarding request's; connecting alone (TCP + TLS).
 */
export const ALERT_EXCHANGE_TIMEOUT_MS = 10_000;
export const POLAR_EXCHANGE_TIMEOUT_MS = 30_000;
export const OUTBOUND_CONNECT_TIMEOUT_MS = 5_000;
/** Bytes of any outbound call's response body read; the rest is not read (the connection is closed). */
export const MAX_OUTBOUND_RESPONSE_BYTES = 64 * 1024;
/** Receivers (distinct alert URLs) sent to at once: one slow receiver never delays another's alerts. */
export const MAX_ALERT_RECEIVERS_IN_FLIGHT = 64;
/** A budget's `webhook_url`: characters, and how long its host may take to resolve when the budget is defined. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;
export const WEBHOOK_RESOLVE_TIMEOUT_MS = 2_000;

/** Characters of a snapshot path (`POST /v1/admin/snapshot`; Linux's PATH_MAX). */
export const MAX_SNAPSHOT_PATH_LENGTH = 4096;
