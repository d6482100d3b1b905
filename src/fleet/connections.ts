/**
 * The clients of a fleet process (worker or coordinator): one per server, credential and budget
 * set, all sharing the fleet's Redis token store (one token request per credential for the whole
 * fleet) and its per-host request budget (leases).
 */
import { type Connection, connect } from '../client/connect.js';
import { createTransport } from '../http/transport.js';
import type { Transport } from '../http/types.js';
import { credentialConnectOptions } from '../pipeline/credentials.js';
import type { Pipeline, PipelineCredential } from '../pipeline/types.js';
import { RedisStore } from '../stores/redis.js';
import type { TokenStore } from '../stores/types.js';
import type { HostBudgets, RedisHostBudget } from './host-budget.js';
import type { FleetLayerJob } from './job-data.js';
import { leasedTransport } from './leased-transport.js';

export class FleetConnections {
  readonly #budget: RedisHostBudget;
  readonly #env: NodeJS.ProcessEnv;
  readonly #store: RedisStore;
  readonly #shared: TokenStore;
  readonly #transports = new Map<string, Transport>();
  readonly #connections = new Map<string, Promise<Connection>>();

  readonly #maxConcurrency: number | undefined;

  /** `maxConcurrency`: requests this process sends at once to one host (adaptive up to it; default 16). */
  constructor(
    redisUrl: string,
    budget: RedisHostBudget,
    env: NodeJS.ProcessEnv = process.env,
    maxConcurrency?: number | undefined,
  ) {
    this.#budget = budget;
    this.#maxConcurrency = maxConcurrency;
    this.#env = env;
    this.#store = new RedisStore({ url: redisUrl });
    this.#shared = unclosable(this.#store);
  }

  for(
    job: Pick<FleetLayerJob, 'url' | 'credentials'>,
    hosts: HostBudgets,
    definitions: Record<string, PipelineCredential>,
    file: string,
  ): Promise<Connection> {
    const credential = job.credentials;
    const budgets = JSON.stringify(hosts);
    const key = `${new URL(job.url).origin}\0${credential ?? ''}\0${budgets}`;
    let connection = this.#connections.get(key);
    if (!connection) {
      let transport = this.#transports.get(budgets);
      if (!transport) {
        transport = leasedTransport(
          createTransport(
            this.#maxConcurrency === undefined ? {} : { concurrency: { max: this.#maxConcurrency } },
          ),
          this.#budget,
          hosts,
        );
        this.#transports.set(budgets, transport);
      }
      const pending = (async () =>
        connect({
          url: job.url,
          transport,
          tokenCache: this.#shared,
          ...(credential === undefined
            ? {}
            : await credentialConnectOptions(pipelineOf(file, definitions), credential, { env: this.#env })),
        }))();
      connection = pending;
      this.#connections.set(key, pending);
      pending.catch(() => this.#connections.delete(key));
    }
    return connection;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#connections.values()].map(async (c) => (await c).close()));
    await Promise.allSettled([...this.#transports.values()].map((t) => t.close()));
    await this.#store.close();
  }
}

/** What credentialConnectOptions reads of a pipeline: its file and credentials. */
function pipelineOf(file: string, credentials: Record<string, PipelineCredential>): Pipeline {
  return { version: 1, id: '', file, baseDir: '', credentials, hosts: {}, sources: [], positions: {} };
}

/** The shared token store: a connection's close must not close it. */
function unclosable(store: TokenStore): TokenStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'close') return async () => undefined;
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
