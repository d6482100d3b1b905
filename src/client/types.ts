import type { Authenticator } from '../auth/types.js';
import type { Emit } from '../core/events.js';
import type { Params, RequestOptions, Transport } from '../http/types.js';

export type TokenPlacement = 'body' | 'header' | 'query';

export interface ArcGISClientOptions {
  transport: Transport;
  /** Absent: public services only (nothing attached). */
  auth?: Authenticator | undefined;
  /** Where the token goes: the POST form body (default), `X-Esri-Authorization: Bearer`, or the query string (GET). */
  tokenPlacement?: TokenPlacement | undefined;
  emit?: Emit | undefined;
}

/** Per-request options (the transport's, minus what the client decides: params, redirect). */
export type ClientRequestOptions = Omit<RequestOptions, 'params' | 'redirect'>;

export interface ClientStats {
  /** HTTP requests made by the transport (attempts included). */
  requests: number;
  /** Transport-level retries. */
  retries: number;
  /** Requests repeated with a fresh token after a 498/499. */
  reauths: number;
}

export type { Params };
