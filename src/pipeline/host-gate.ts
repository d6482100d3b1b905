/**
 * The pipeline's per-host budget as a hard cap: at most `concurrency` requests in flight to a host
 * at once, whatever sends them (pages, which also take the host's adaptive controller, capped at
 * the same number; and counts, id lists, metadata and tokens, which take no controller). Requests
 * past the cap wait their turn, first come first served.
 */
import { originOf } from '../core/url.js';
import type { HttpResponse, RequestOptions, Transport } from '../http/types.js';

class Gate {
  #free: number;
  readonly #waiting: Array<() => void> = [];
  constructor(size: number) {
    this.#free = size;
  }
  async run<T>(task: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    if (this.#free > 0) this.#free--;
    else {
      await new Promise<void>((resolve, reject) => {
        const turn = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.#waiting.indexOf(turn);
          if (i >= 0) this.#waiting.splice(i, 1);
          reject(signal?.reason);
        };
        this.#waiting.push(turn);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

/** A transport whose requests to a host with a budget wait for one of its `budget(url)` slots. */
export function gatedTransport(inner: Transport, budget: (url: string) => number | undefined): Transport {
  const gates = new Map<string, Gate | null>();
  const gateOf = (url: string): Gate | null => {
    const origin = originOf(url);
    let gate = gates.get(origin);
    if (gate === undefined) {
      const size = budget(url);
      gate = size === undefined ? null : new Gate(size);
      gates.set(origin, gate);
    }
    return gate;
  };
  return {
    request<T = unknown>(url: string, options?: RequestOptions): Promise<HttpResponse<T>> {
      const gate = gateOf(url);
      return gate
        ? gate.run(() => inner.request<T>(url, options), options?.signal)
        : inner.request<T>(url, options);
    },
    get stats() {
      return inner.stats;
    },
    close: () => inner.close(),
    ...(inner.concurrency ? { concurrency: inner.concurrency } : {}),
  };
}
