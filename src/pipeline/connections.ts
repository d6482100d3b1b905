/**
 * What every job of a pipeline shares in one process: one transport (so one request budget per
 * host: at most the `hosts` budget of requests in flight, pages paced by the host's adaptive
 * controller capped at that budget), one token store, and one client per credential and server
 * (so one token per credential).
 */
import type { ArcGISClient } from '../client/arcgis-client.js';
import { type Connection, connect } from '../client/connect.js';
import type { Emit } from '../core/events.js';
import type { Runtime } from '../core/time.js';
import { createTransport, type TransportOptions } from '../http/transport.js';
import type { Transport } from '../http/types.js';
import { createTokenStore } from '../stores/index.js';
import type { TokenStore } from '../stores/types.js';
import { credentialConnectOptions, type SecretContext } from './credentials.js';
import { gatedTransport } from './host-gate.js';
import type { HostBudget, Pipeline } from './types.js';

export interface PipelineConnectionsOptions extends SecretContext {
  pipeline: Pipeline;
  /** A TokenStore, or a spec: memory (default), file[:PATH], redis://… */
  tokenCache?: TokenStore | string | undefined;
  runtime?: Partial<Runtime> | undefined;
  emit?: Emit | undefined;
  transportOptions?: Omit<TransportOptions, 'runtime' | 'emit'> | undefined;
}

/**
 * The budget of a URL's host: `hosts[name:port]`, else `hosts[name]`, else `hosts["*"]` (names
 * compared in lower case, as URLs give them). The pipeline's budgets, or the fleet's (numbers).
 */
export function hostBudget<T = HostBudget>(
  hosts: Readonly<Record<string, T>>,
  url: string | URL,
): T | undefined {
  const { host, hostname } = typeof url === 'string' ? new URL(url) : url;
  return hosts[host] ?? hosts[hostname] ?? hosts['*'];
}

export class PipelineConnections {
  readonly transport: Transport;
  readonly #options: PipelineConnectionsOptions;
  readonly #connections = new Map<string, Promise<Connection>>();
  #store: TokenStore | undefined;

  constructor(options: PipelineConnectionsOptions) {
    this.#options = options;
    const inner = createTransport({
      ...options.transportOptions,
      ...(options.runtime ? { runtime: options.runtime } : {}),
      ...(options.emit ? { emit: options.emit } : {}),
    });
    // every request to a host, not only the pages, within its budget
    this.transport = gatedTransport(inner, (url) => hostBudget(options.pipeline.hosts, url)?.concurrency);
  }

  /** The host's controller, created with the pipeline's budget before any request to it. */
  #budget(url: string): void {
    const budget = hostBudget(this.#options.pipeline.hosts, url);
    this.transport.concurrency?.for(url, budget ? { max: budget.concurrency } : {});
  }

  #tokenStore(): TokenStore {
    const cache = this.#options.tokenCache;
    this.#store ??=
      typeof cache === 'object'
        ? cache
        : createTokenStore(cache, {
            env: this.#options.env,
            ...(this.#options.runtime ? { runtime: this.#options.runtime } : {}),
            ...(this.#options.emit ? { emit: this.#options.emit } : {}),
          });
    return this.#store;
  }

  /** The client of a credential (none: public) for a URL of a server: one per credential and origin. */
  clientFor(credential: string | undefined, url: string): Promise<ArcGISClient> {
    this.#budget(url);
    const key = `${credential ?? ''}\u0000${new URL(url).origin}`;
    let connection = this.#connections.get(key);
    if (!connection) {
      connection = this.#connect(credential, url);
      this.#connections.set(key, connection);
      // a failed connection is tried again by the next job (its error goes to the job that asked)
      connection.catch(() => this.#connections.delete(key));
    }
    return connection.then((c) => c.client);
  }

  async #connect(credential: string | undefined, url: string): Promise<Connection> {
    const options = this.#options;
    const named =
      credential === undefined ? {} : await credentialConnectOptions(options.pipeline, credential, options);
    return connect({
      url,
      ...named,
      transport: this.transport,
      ...(credential === undefined ? {} : { tokenCache: this.#tokenStore() }),
      ...(options.runtime ? { runtime: options.runtime } : {}),
      ...(options.emit ? { emit: options.emit } : {}),
    });
  }

  /** Closes the token store and the transport (the connections share them). */
  async close(): Promise<void> {
    await Promise.allSettled([this.#store?.close(), this.transport.close()]);
  }
}
