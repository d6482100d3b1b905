/**
 * One ConcurrencyController per host (origin), shared by everything the transport sends there: a
 * whole-service export and a pipeline of layers of one server find (and respect) the same
 * capacity. The settings of the first caller create a host's controller; later callers share it.
 */
import type { Runtime } from '../core/time.js';
import { ConcurrencyController, type ConcurrencyStats } from './concurrency.js';

export interface HostConcurrencySettings {
  /** A fixed limit (no adaptation). */
  pinned?: number | undefined;
  /** Upper bound of the adaptive limit (default 16). */
  max?: number | undefined;
  /** Start of the adaptive limit (default 4). */
  initial?: number | undefined;
}

export class HostConcurrency {
  readonly #runtime: Pick<Runtime, 'clock' | 'sleep'>;
  readonly #defaults: HostConcurrencySettings;
  readonly #hosts = new Map<string, ConcurrencyController>();

  constructor(runtime: Pick<Runtime, 'clock' | 'sleep'>, defaults: HostConcurrencySettings = {}) {
    this.#runtime = runtime;
    this.#defaults = defaults;
  }

  /** The controller of the URL's host, created with `settings` (over the defaults) if it has none yet. */
  for(url: string | URL, settings: HostConcurrencySettings = {}): ConcurrencyController {
    const key = originOf(url);
    let controller = this.#hosts.get(key);
    if (!controller) {
      const s = { ...this.#defaults, ...definedOnly(settings) };
      controller = new ConcurrencyController({
        clock: this.#runtime.clock,
        sleep: this.#runtime.sleep,
        pinned: s.pinned,
        max: s.max,
        initial: s.initial,
      });
      this.#hosts.set(key, controller);
    }
    return controller;
  }

  /** The controller of the URL's host, if one was created. */
  peek(url: string | URL): ConcurrencyController | undefined {
    return this.#hosts.get(originOf(url));
  }

  /** Stats by origin. */
  snapshot(): Record<string, ConcurrencyStats> {
    return Object.fromEntries([...this.#hosts].map(([host, c]) => [host, c.snapshot()]));
  }
}

function originOf(url: string | URL): string {
  return (typeof url === 'string' ? new URL(url) : url).origin;
}

function definedOnly(settings: HostConcurrencySettings): HostConcurrencySettings {
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
}
