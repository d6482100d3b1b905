/**
 * A scripted Transport for auth unit tests: records every call, answers from a script (or a
 * default responder), and throws EtlErrors the way the real transport does.
 */
import { EtlError } from '../../src/core/errors.js';
import type { HttpResponse, RequestOptions, Transport, TransportStats } from '../../src/http/types.js';

export interface FakeCall {
  url: string;
  options: RequestOptions;
}

/** What a scripted step does: a body (HTTP 200), a full response, or an error to throw. */
export type Step =
  | { body: unknown; serverDate?: number; status?: number }
  | { error: EtlError }
  | ((call: FakeCall) => Promise<Partial<HttpResponse> | EtlError> | Partial<HttpResponse> | EtlError);

export class FakeTransport implements Transport {
  readonly calls: FakeCall[] = [];
  readonly stats: TransportStats = { requests: 0, retries: 0 };
  readonly #script: Step[] = [];
  #fallback: Step | undefined;
  /** When set, every answer waits for this gate (to hold requests in flight). */
  gate: Promise<void> | undefined;

  /** Queues answers, used once each, in order. */
  push(...steps: Step[]): this {
    this.#script.push(...steps);
    return this;
  }

  /** The answer once the script is used up. */
  otherwise(step: Step): this {
    this.#fallback = step;
    return this;
  }

  async request<T = unknown>(url: string, options: RequestOptions = {}): Promise<HttpResponse<T>> {
    const call = { url, options };
    this.calls.push(call);
    this.stats.requests++;
    if (this.gate) await this.gate;
    const step = this.#script.shift() ?? this.#fallback;
    if (step === undefined) throw new Error(`FakeTransport: no answer scripted for ${url}`);
    const outcome = typeof step === 'function' ? await step(call) : step;
    if (outcome instanceof EtlError) throw outcome;
    if ('error' in outcome && outcome.error instanceof EtlError) throw outcome.error;
    const partial = outcome as Partial<HttpResponse>;
    return {
      status: partial.status ?? 200,
      headers: partial.headers ?? {},
      body: partial.body as T,
      serverDate: partial.serverDate,
      attempts: partial.attempts ?? 1,
      url,
    };
  }

  async close(): Promise<void> {}
}

/** The envelope the real transport turns into BAD_CREDENTIALS. */
export function badCredentials(url: string): EtlError {
  return new EtlError('BAD_CREDENTIALS', 'Unable to generate token.', {
    status: 200,
    arcgisCode: 400,
    details: ['Invalid username or password.'],
    url,
  });
}

export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
