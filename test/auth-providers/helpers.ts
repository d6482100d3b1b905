/**
 * Shared by the provider tests: unique secrets, event capture and the leak scan. Every secret made
 * by `uniqueSecret` is checked, after each test file, against everything recorded: events on the
 * `arcgis-etl` diagnostics channel, every Transcript's events, log lines and errors.
 */
import * as diagnostics from 'node:diagnostics_channel';
import { afterAll, expect } from 'vitest';
import { type EtlEvent, EVENTS_CHANNEL } from '../../src/core/events.js';

const secrets = new Set<string>();
const everything: string[] = [];
const onChannel = (message: unknown) => {
  everything.push(JSON.stringify(message));
};
diagnostics.subscribe(EVENTS_CHANNEL, onChannel);

afterAll(() => {
  diagnostics.unsubscribe(EVENTS_CHANNEL, onChannel);
  const all = everything.join('\n');
  for (const secret of secrets) {
    expect(all.includes(secret), `a secret leaked into an event, log or error: ${secret.slice(0, 8)}…`).toBe(
      false,
    );
  }
});

/** A secret unique to this run (so a leak cannot hide behind a fixture value); scanned for after the file. */
export function uniqueSecret(label: string): string {
  const secret = `${label}-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}-Zq9`;
  secrets.add(secret);
  return secret;
}

/** Adds a value (e.g. a refresh token read back from a store) to the after-file leak scan. */
export function scanFor(secret: string | undefined): void {
  if (secret) secrets.add(secret);
}

/** Everything a run said: events, log lines, error messages and JSON views. */
export class Transcript {
  readonly events: EtlEvent[] = [];
  readonly lines: string[] = [];
  readonly emit = (event: EtlEvent): void => {
    this.events.push(event);
    everything.push(JSON.stringify(event));
  };
  readonly logger = {
    debug: (o: object, m?: string) => this.#log(o, m),
    info: (o: object, m?: string) => this.#log(o, m),
    warn: (o: object, m?: string) => this.#log(o, m),
    error: (o: object, m?: string) => this.#log(o, m),
  };

  #log(o: object, m?: string): void {
    this.#push(`${m ?? ''} ${JSON.stringify(o)}`);
  }

  #push(line: string): void {
    this.lines.push(line);
    everything.push(line);
  }

  /** Records an error (message, JSON view and its causes). */
  error(error: unknown): unknown {
    let e: unknown = error;
    for (let depth = 0; e && depth < 6; depth++) {
      if (e instanceof Error) {
        this.#push(`${e.name}: ${e.message}`);
        const json = (e as { toJSON?: () => unknown }).toJSON;
        if (typeof json === 'function') this.#push(JSON.stringify(json.call(e)));
        e = (e as { cause?: unknown }).cause;
      } else {
        this.#push(String(e));
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
    (transcript ?? new Transcript()).error(error);
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}
