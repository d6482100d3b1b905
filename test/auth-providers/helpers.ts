/** Shared by the provider tests: unique secrets, event capture and the leak scan. */
import { expect } from 'vitest';
import type { EtlEvent } from '../../src/core/events.js';

/** A secret unique to this run (so a leak cannot hide behind a fixture value). */
export function uniqueSecret(label: string): string {
  return `${label}-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}-Zq9`;
}

/** Everything a run said: events, log lines, error messages and JSON views. */
export class Transcript {
  readonly events: EtlEvent[] = [];
  readonly lines: string[] = [];
  readonly emit = (event: EtlEvent): void => {
    this.events.push(event);
  };
  readonly logger = {
    debug: (o: object, m?: string) => this.#log(o, m),
    info: (o: object, m?: string) => this.#log(o, m),
    warn: (o: object, m?: string) => this.#log(o, m),
    error: (o: object, m?: string) => this.#log(o, m),
  };

  #log(o: object, m?: string): void {
    this.lines.push(`${m ?? ''} ${JSON.stringify(o)}`);
  }

  /** Records an error (message, JSON view and its causes). */
  error(error: unknown): unknown {
    let e: unknown = error;
    for (let depth = 0; e && depth < 6; depth++) {
      if (e instanceof Error) {
        this.lines.push(`${e.name}: ${e.message}`);
        const json = (e as { toJSON?: () => unknown }).toJSON;
        if (typeof json === 'function') this.lines.push(JSON.stringify(json.call(e)));
        e = (e as { cause?: unknown }).cause;
      } else {
        this.lines.push(String(e));
        break;
      }
    }
    return error;
  }

  text(): string {
    return [...this.events.map((e) => JSON.stringify(e)), ...this.lines].join('\n');
  }

  /** Fails when any of the secrets (or their URL-encoded form) appears anywhere. */
  expectClean(...secrets: (string | undefined)[]): void {
    const all = this.text();
    for (const secret of secrets) {
      if (!secret) continue;
      expect(all.includes(secret), `secret leaked: ${secret.slice(0, 6)}…`).toBe(false);
      expect(all.includes(encodeURIComponent(secret))).toBe(false);
    }
  }
}

/** Awaits a promise expected to reject, records the error and returns it. */
export async function rejection(
  promise: Promise<unknown>,
  transcript?: Transcript,
): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    transcript?.error(error);
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}
