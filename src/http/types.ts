/**
 * The transport contract. Implemented by `createTransport` (undici); components above depend on
 * this interface only, so tests can substitute it.
 */
import type { HostConcurrency } from './host-concurrency.js';

export type ParamValue = string | number | boolean | null | undefined;
export type Params = Record<string, ParamValue>;

export interface RetryPolicy {
  /** Total attempts including the first (1 = no retry). */
  maxAttempts: number;
  /** First backoff ceiling; attempt n waits random() * min(maxDelayMs, baseDelayMs * 2^(n-1)). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Give up when the sum of delays would pass this. */
  maxTotalDelayMs: number;
  /** HTTP statuses (or ArcGIS envelope codes) that are retried. */
  statuses: readonly number[];
  /** EtlError codes that are retried (network resets, timeouts, truncated or HTML bodies). */
  errorCodes: readonly string[];
  /** Honour Retry-After (seconds or HTTP date), still capped by maxDelayMs. */
  respectRetryAfter: boolean;
  /**
   * Retries after a timeout (idle or whole-request), at most (default 2): a server that stalls or
   * trickles is not waited on again and again.
   */
  maxTimeoutRetries?: number;
}

export interface RequestOptions {
  /** Default POST (form-encoded), as ArcGIS clients do. A GET longer than 2000 chars becomes a POST. */
  method?: 'GET' | 'POST';
  /** Form (POST) or query (GET) parameters; `f=json` is added unless `f` is given. */
  params?: Params;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /**
   * Whether the request may be repeated safely. Default true: ArcGIS reads (query, metadata, token
   * generation) are. Non-idempotent requests are retried only when the server certainly did not
   * process them (429/503 answered before any processing, connection refused).
   */
  idempotent?: boolean;
  /** Override or disable (`false`) the retry policy for this request. */
  retry?: Partial<RetryPolicy> | false;
  /**
   * `json` (default) parses and checks the ArcGIS error envelopes; `text` returns the body as is;
   * `binary` (`f=pbf`) returns a `BinaryOrJson`: the bytes of a binary answer (passed through
   * `decodeBinary` when given), or the parsed JSON of a server that answered JSON instead. Error
   * envelopes, HTML pages and error statuses throw as for `json`. `bytes` (file downloads) returns
   * the body's bytes (a Buffer) of any 2xx answer; one typed JSON is checked for an error envelope.
   */
  responseType?: 'json' | 'text' | 'binary' | 'bytes' | 'file';
  /**
   * `responseType: 'file'`: the body of a 2xx answer is streamed into this file (created or
   * truncated, hashed on the way) and the answer is a `FileBody`; memory stays flat however large
   * the download. A small JSON or HTML answer is still checked for an error envelope.
   */
  toFile?: string;
  /**
   * Decodes a binary answer inside the attempt. A TRUNCATED_RESPONSE (a body cut short) is retried
   * like a cut JSON body; any other error is permanent (no retry: the server sends that body).
   */
  decodeBinary?: (bytes: Uint8Array) => unknown;
  /**
   * Parses a JSON answer's text instead of `JSON.parse` (e.g. to keep integers beyond 2^53 exact);
   * it must throw a SyntaxError for a text that is not JSON.
   */
  parseJson?: (text: string) => unknown;
  /** Response size cap in bytes (default 512 MiB). */
  maxBodyBytes?: number;
  /** `token`: the request carries credentials to a token endpoint (a `token.request` event names its host). */
  purpose?: 'token';
  /** Redirects are followed only within the same origin (default), or never. */
  redirect?: 'same-origin' | 'error';
}

export type { FileBody } from './body.js';

/** The body of a `responseType: 'binary'` request. */
export type BinaryOrJson<T = Uint8Array> = { kind: 'binary'; value: T } | { kind: 'json'; value: unknown };

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Record<string, string>;
  body: T;
  /** The server's Date header in epoch ms, when present (for clock skew correction). */
  serverDate: number | undefined;
  /** Attempts it took (1 = first try). */
  attempts: number;
  /** The final URL (after same-origin redirects). */
  url: string;
}

export interface TransportStats {
  requests: number;
  retries: number;
}

export interface Transport {
  request<T = unknown>(url: string, options?: RequestOptions): Promise<HttpResponse<T>>;
  readonly stats: TransportStats;
  close(): Promise<void>;
  /** Per-host adaptive concurrency (absent in transports that do not adapt: a fixed limit is used). */
  readonly concurrency?: HostConcurrency;
}
