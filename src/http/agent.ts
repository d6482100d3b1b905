/**
 * The one undici Agent of a transport: keep-alive, pooled connections, timeouts, optional custom CA.
 */
import { rootCertificates } from 'node:tls';
import type { Agent, Dispatcher } from 'undici';
// The Agent's module and undici's `request`, not undici's index: the index loads all of undici
// (fetch, WebSocket, caches, mocks), about 100 ms of every start of the CLI; these two and what
// they need take a third of that. The paths are undici 7's layout (its version is pinned in
// package.json), and every request of every test goes through them.
import undiciRequest from 'undici/lib/api/api-request.js';
import UndiciAgent from 'undici/lib/dispatcher/agent.js';
import { pinnedLookup } from './localhost.js';

export interface TransportTimeouts {
  /** TCP + TLS connection setup. Default 10 s. */
  connectMs: number;
  /** Idle: until the response headers have arrived. Default 60 s. */
  headersMs: number;
  /** Idle: between two chunks of the response body (no byte for this long). Default 60 s. */
  bodyMs: number;
  /** How long an idle keep-alive connection is kept. Default 10 s. */
  keepAliveMs: number;
  /**
   * The whole of one attempt, from sending the request to the last byte of the body (redirects
   * included). Catches bodies that trickle too slowly to trip `bodyMs` (the CLI's `--timeout`).
   * Default 5 min; 0 = none.
   */
  responseMs: number;
}

export const DEFAULT_TIMEOUTS: Readonly<TransportTimeouts> = Object.freeze({
  connectMs: 10_000,
  headersMs: 60_000,
  bodyMs: 60_000,
  keepAliveMs: 10_000,
  responseMs: 300_000,
});

export const DEFAULT_CONNECTIONS = 16;

export interface AgentOptions {
  timeouts?: Partial<TransportTimeouts> | undefined;
  /** Connections per origin. Default 16. */
  connections?: number | undefined;
  /** PEM certificate(s) of a private CA, trusted in addition to the usual root certificates. */
  ca?: string | Buffer | readonly (string | Buffer)[] | undefined;
}

/** Fills in the timeouts not given. */
export function resolveTimeouts(partial: Partial<TransportTimeouts> = {}): TransportTimeouts {
  return {
    connectMs: partial.connectMs ?? DEFAULT_TIMEOUTS.connectMs,
    headersMs: partial.headersMs ?? DEFAULT_TIMEOUTS.headersMs,
    bodyMs: partial.bodyMs ?? DEFAULT_TIMEOUTS.bodyMs,
    keepAliveMs: partial.keepAliveMs ?? DEFAULT_TIMEOUTS.keepAliveMs,
    responseMs: partial.responseMs ?? DEFAULT_TIMEOUTS.responseMs,
  };
}

/**
 * `dispatcher.request(options)`. undici's index adds `request` to every dispatcher's prototype;
 * without the index, the Agent of createAgent has none, and undici's own `request` is called on
 * it. A dispatcher of the caller's (an undici loaded whole) keeps its own.
 */
export function sendRequest(
  dispatcher: Dispatcher,
  options: Dispatcher.RequestOptions,
): Promise<Dispatcher.ResponseData> {
  return typeof dispatcher.request === 'function'
    ? dispatcher.request(options)
    : undiciRequest.call(dispatcher, options);
}

export function createAgent(options: AgentOptions = {}): Agent {
  const timeouts = resolveTimeouts(options.timeouts);
  const extra = options.ca === undefined ? [] : Array.isArray(options.ca) ? [...options.ca] : [options.ca];
  const ca: (string | Buffer)[] | undefined =
    extra.length === 0 ? undefined : [...rootCertificates, ...extra];
  return new UndiciAgent({
    connections: options.connections ?? DEFAULT_CONNECTIONS,
    pipelining: 1,
    keepAliveTimeout: timeouts.keepAliveMs,
    headersTimeout: timeouts.headersMs,
    bodyTimeout: timeouts.bodyMs,
    connect: {
      timeout: timeouts.connectMs,
      // *.localhost is loopback, whatever DNS says
      lookup: pinnedLookup as never,
      ...(ca === undefined ? {} : { ca }),
    },
  });
}
