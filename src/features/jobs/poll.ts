/**
 * Polls a server-side job until it is done: the delay between polls grows from `initialDelayMs`
 * by `factor` up to `maxDelayMs` (with jitter), the whole wait is bounded by `timeoutMs`, and a poll
 * that fails transiently (its request ran out of retries on 5xx, a network error, a cut body) is
 * polled again later, up to `maxPollFailures` failures in a row. Each poll goes through the
 * client, so a token that expires during a long job is refreshed there and polling carries on.
 */
import { EtlError, isEtlError } from '../../core/errors.js';
import { type Runtime, resolveRuntime } from '../../core/time.js';

export type JobState<T> =
  | { state: 'running'; status?: string }
  | { state: 'done'; value: T }
  | { state: 'failed'; message: string };

export interface PollOptions<T> {
  /** One status request, read into a state. */
  check: () => Promise<JobState<T>>;
  /** What the job is, for messages (e.g. `createReplica job of …/FeatureServer`). */
  what: string;
  initialDelayMs?: number | undefined;
  maxDelayMs?: number | undefined;
  factor?: number | undefined;
  /** Give up after this long (default 6 hours). */
  timeoutMs?: number | undefined;
  maxPollFailures?: number | undefined;
  runtime?: Partial<Runtime> | undefined;
  signal?: AbortSignal | undefined;
  onPoll?: ((info: { polls: number; status: string | undefined; elapsedMs: number }) => void) | undefined;
}

export interface PollResult<T> {
  value: T;
  polls: number;
  /** Polls that failed and were polled again. */
  pollFailures: number;
  elapsedMs: number;
}

const TRANSIENT = new Set([
  'RETRIES_EXHAUSTED',
  'NETWORK_ERROR',
  'TIMEOUT',
  'TRUNCATED_RESPONSE',
  'INVALID_RESPONSE',
  'HTTP_ERROR',
]);

export async function pollJob<T>(options: PollOptions<T>): Promise<PollResult<T>> {
  const runtime = resolveRuntime(options.runtime);
  const initial = options.initialDelayMs ?? 1000;
  const max = options.maxDelayMs ?? 30_000;
  const factor = options.factor ?? 1.5;
  const timeout = options.timeoutMs ?? 6 * 3600_000;
  const maxFailures = options.maxPollFailures ?? 5;
  const started = runtime.clock.now();
  let delay = initial;
  let polls = 0;
  let failures = 0;
  let inARow = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    let state: JobState<T> | undefined;
    polls++;
    try {
      state = await options.check();
      inARow = 0;
    } catch (error) {
      if (!isTransient(error) || ++inARow > maxFailures) throw error;
      failures++;
    }
    const elapsedMs = runtime.clock.now() - started;
    if (state?.state === 'done') return { value: state.value, polls, pollFailures: failures, elapsedMs };
    if (state?.state === 'failed') {
      throw new EtlError('JOB_FAILED', `The ${options.what} failed on the server: ${state.message}`);
    }
    options.onPoll?.({ polls, status: state?.status, elapsedMs });
    if (elapsedMs >= timeout) {
      throw new EtlError(
        'JOB_TIMEOUT',
        `The ${options.what} did not finish within ${Math.round(timeout / 1000)} s (${polls} polls)`,
      );
    }
    const jittered = delay * (0.8 + 0.4 * runtime.random());
    await runtime.sleep(Math.min(jittered, Math.max(0, timeout - elapsedMs)), options.signal);
    delay = Math.min(max, delay * factor);
  }
}

function isTransient(error: unknown): boolean {
  if (!isEtlError(error)) return false;
  if (TRANSIENT.has(error.code)) return true;
  return error.code === 'ARCGIS_ERROR' && error.status !== undefined && error.status >= 500;
}
