/**
 * The part of chdb's API the development endpoint uses (chdb is loaded at run time from the tools folder, so its
 * own declarations are not on the type-checker's path).
 */
export interface NativeResult {
  readonly elapsed: number;
  readonly rowsRead: number;
  readonly bytesRead: number;
  readonly bytes: Uint8Array;
}

export declare class Session {
  constructor(path?: string);
  /** The native connection handle. */
  readonly connection: unknown;
  close(): void;
}

/**
 * chdb's native addon. `QueryAsyncConnection` with bound parameters takes them as ClickHouse reads query parameters
 * over HTTP — text in the Escaped format of their declared type — which is what `param_<name>` carries. chdb's own
 * `queryBindAsync` escapes string values again (it takes raw JS values), which breaks arrays and escapes sent by
 * `@clickhouse/client`; so the endpoint calls the addon, pinned with chdb's version (install.ts).
 */
export interface ChdbNative {
  QueryAsyncConnection(
    connection: unknown,
    sql: string,
    format: string,
    params?: Record<string, string>,
  ): Promise<NativeResult>;
}

export interface Chdb {
  readonly Session: typeof Session;
  readonly native: ChdbNative;
}
