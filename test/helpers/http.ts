/**
 * The one set of HTTP helpers the tests share (STYLE.md, "Shared test helpers"): send a body with `post`/`put`,
 * get `{ status, body }` back with `postJson`/`putJson`/`getJson`, and poll a condition with `until`. Route-only
 * tests that need no real socket use `TestCollector.injectJson` (helpers/collector.ts) instead.
 */

/** A status and the parsed JSON answer. `T` is what the test expects the body to be; nothing checks it here. */
export interface JsonAnswer<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
}

/** A request body: sent as it is when a string or bytes, else as JSON. */
export type Body = string | Uint8Array | unknown;

function isRaw(body: Body): body is string | Uint8Array {
  return typeof body === 'string' || body instanceof Uint8Array;
}

/**
 * Sends `body` with `method` to `url`. Objects go as JSON with `content-type: application/json`; strings and
 * bytes go as they are (JSON by default, or whatever `init.headers` says). `init.headers` win over the default.
 */
export function send(method: string, url: string, body: Body, init: RequestInit = {}): Promise<Response> {
  const headers = { 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) };
  return fetch(url, {
    ...init,
    method,
    headers,
    body: isRaw(body) ? (body as NonNullable<RequestInit['body']>) : JSON.stringify(body),
  });
}

/** POSTs `body` (see `send`) and returns the raw response. */
export function post(url: string, body: Body, init?: RequestInit): Promise<Response> {
  return send('POST', url, body, init);
}

/** PUTs `body` (see `send`) and returns the raw response. */
export function put(url: string, body: Body, init?: RequestInit): Promise<Response> {
  return send('PUT', url, body, init);
}

async function answer<T>(res: Response): Promise<JsonAnswer<T>> {
  return { status: res.status, body: (await res.json()) as T };
}

/** POSTs `body` as JSON and returns the status and parsed JSON answer. */
export async function postJson<T = Record<string, unknown>>(
  url: string,
  body: Body,
  headers: Record<string, string> = {},
): Promise<JsonAnswer<T>> {
  return answer<T>(await post(url, body, { headers }));
}

/** PUTs `body` as JSON and returns the status and parsed JSON answer. */
export async function putJson<T = Record<string, unknown>>(
  url: string,
  body: Body,
  headers: Record<string, string> = {},
): Promise<JsonAnswer<T>> {
  return answer<T>(await put(url, body, { headers }));
}

/** A status and the answer's text, parsed only on asking: for answers that may not be JSON, or whose size counts. */
export interface TextAnswer {
  readonly status: number;
  readonly text: string;
  json<T = Record<string, unknown>>(): T;
}

/** POSTs `body` (see `send`) and returns the status and the answer's text, with `json()` to parse it. */
export async function postText(url: string, body: Body, headers: Record<string, string> = {}): Promise<TextAnswer> {
  const res = await post(url, body, { headers });
  const text = await res.text();
  return { status: res.status, text, json: <T>() => JSON.parse(text) as T };
}

/**
 * Sends `method` to `url` (with `body` as JSON when given) and returns the status and parsed JSON answer: the
 * general form of `getJson`/`postJson`/`putJson`, for DELETE and PATCH or a method chosen by a table.
 */
export async function requestJson<T = Record<string, unknown>>(
  method: string,
  url: string,
  body?: Body,
  headers: Record<string, string> = {},
): Promise<JsonAnswer<T>> {
  if (body !== undefined) return answer<T>(await send(method, url, body, { headers }));
  return answer<T>(await fetch(url, { method, headers }));
}

/** The `authorization` header for a bearer token, or no header without one. */
export function bearer(token?: string): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** GETs `url` and returns the status and parsed JSON answer. */
export async function getJson<T = Record<string, unknown>>(
  url: string,
  headers: Record<string, string> = {},
): Promise<JsonAnswer<T>> {
  return answer<T>(await fetch(url, { headers }));
}

/**
 * Polls `check` every `intervalMs` until it holds; fails with "timed out after N ms waiting for <what>" once
 * `ms` have passed. Use it wherever a test waits for something to happen instead of sleeping.
 */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 15_000,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
