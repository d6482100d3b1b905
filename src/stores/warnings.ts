import type { Emit } from '../core/events.js';

/**
 * Cache warnings: counted, emitted as `warning` events, and — for the ones that would repeat at
 * every read (a corrupt entry, an undecryptable record) — emitted once per signature.
 */
export class StoreWarnings {
  readonly #seen = new Set<string>();

  constructor(
    private readonly emit: Emit,
    private readonly stats: { warnings: number },
  ) {}

  warn(message: string): void {
    this.stats.warnings++;
    this.emit({ type: 'warning', message });
  }

  once(signature: string, message: string): void {
    if (this.#seen.has(signature)) return;
    if (this.#seen.size > 100) this.#seen.clear();
    this.#seen.add(signature);
    this.warn(message);
  }

  /** Forget what was said (after a successful write, a repeat deserves a new warning). */
  reset(): void {
    this.#seen.clear();
  }
}
