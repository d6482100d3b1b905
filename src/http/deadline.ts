/**
 * A deadline for one whole attempt (request sent → last body byte), on top of undici's idle
 * timeouts: a server that trickles one byte at a time never trips an idle timeout, and would
 * otherwise hold the export forever (slow-loris). Like the socket timeouts, it runs on the wall
 * clock, not on the injected Runtime.
 */
import { realSleep } from '../core/time.js';

export interface Deadline {
  /** Aborts when the deadline passes or when the caller's signal aborts. */
  readonly signal: AbortSignal;
  /** True once the deadline (not the caller) aborted the attempt. */
  readonly expired: boolean;
  /** Stops the timer (call when the attempt is over). */
  clear(): void;
}

/** `ms` undefined, 0 or not finite: no deadline, only the caller's signal. */
export function startDeadline(ms: number | undefined, callerSignal: AbortSignal | undefined): Deadline {
  const timer = new AbortController();
  const own = new AbortController();
  let expired = false;
  if (ms !== undefined && Number.isFinite(ms) && ms > 0) {
    realSleep(ms, timer.signal).then(
      () => {
        expired = true;
        own.abort(new Error(`response deadline of ${ms} ms passed`));
      },
      () => {},
    );
  }
  const signal = callerSignal ? AbortSignal.any([callerSignal, own.signal]) : own.signal;
  return {
    signal,
    get expired() {
      return expired && !callerSignal?.aborted;
    },
    clear: () => timer.abort(),
  };
}
