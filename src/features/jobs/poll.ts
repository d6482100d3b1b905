/**
 * Polls a server-side job (createReplica, item export, async extractChanges, geoprocessing) until
 * it is done: the delay between polls grows from `initialDelayMs` by `factor` up to `maxDelayMs`
 * (with optional jitter), the whole wait is bounded by `timeoutMs` (JOB_TIMEOUT), a job the server
 * reports failed is JOB_FAILED, and a poll that fails transiently (its request ran out of retries on
 * 5xx, a network error, a cut body) is polled again later, up to `maxPollFailures` failures in a
 * row. Each poll goes through the client, so a token that expires during a long job is refreshed
 * there and polling carries on (the job lives on the server: a new token polls it just as well).
 *
 * `pollJob` takes any status check; `pollStatusUrl` is the check of an ArcGIS `statusUrl` (its
 * `status` word read) with short-job defaults. Each caller passes the schedule it needs.
 */
import type { ArcGISClient } from '../../client/arcgis-client.js';
import { EtlError, isEtlError } from '../../core/errors.js';
import { type Runtime, resolveRuntime } from '../../core/time.js';
import type { Params } from '../../http/types.js';

export type JobState<T> =
  | { state: 'running'; status?: string }
  | { state: 'done'; value: T }
  | { state: 'failed'; message: string };

/** When to poll and for how long. */
export interface PollSchedule {
  /** First wait, before the second poll (default 1 s). */
  initialDelayMs?: number | undefined;
  /** Longest wait between polls (default 30 s). */
  maxDelayMs?: number | undefined;
  /** Growth of the wait between polls (default 1.5). */
  factor?: number | undefined;
  /** Each wait is scaled by a random factor in 1 ± jitter (default 0.2; 0 for exact waits). */
  jitter?: number | undefined;
  /** Give up after this long (default 6 hours): JOB_TIMEOUT. */
  timeoutMs?: number | undefined;
  /** Transient poll failures in a row polled again before giving up (default 5). */
  maxPollFailures?: number | undefined;
}

interface PollCommon extends PollSchedule {
  runtime?: Partial<Runtime> | undefined;
  signal?: AbortSignal | undefined;
  onPoll?: ((info: { polls: number; status: string | undefined; elapsedMs: number }) => void) | undefined;
}

export interface PollOptions<T> extends PollCommon {
  /** One status request, read into a state. */
  check: () => Promise<JobState<T>>;
  /** What the job is, for messages (e.g. `createReplica job of …/FeatureServer`). */
  what: string;
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
  const jitter = options.jitter ?? 0.2;
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
    const jittered = jitter === 0 ? delay : delay * (1 - jitter + 2 * jitter * runtime.random());
    await runtime.sleep(Math.min(jittered, Math.max(0, timeout - elapsedMs)), options.signal);
    delay = Math.min(max, delay * factor);
  }
}

function isTransient(error: unknown): boolean {
  if (!isEtlError(error)) return false;
  if (TRANSIENT.has(error.code)) return true;
  return error.code === 'ARCGIS_ERROR' && error.status !== undefined && error.status >= 500;
}

/** The body of an ArcGIS job status answer. */
export interface JobStatus extends Record<string, unknown> {
  status?: string;
  resultUrl?: string;
}

export interface PollStatusUrlOptions extends PollCommon {
  client: ArcGISClient;
  statusUrl: string;
  /** Extra parameters of each status request (`f=json` is added). */
  params?: Params | undefined;
  /** What the job is, for messages (default `server job`). */
  what?: string | undefined;
}

export interface PollStatusUrlResult {
  /** The final status body (its `resultUrl`, when the job has one). */
  status: JobStatus;
  polls: number;
}

const DONE = new Set(['completed', 'esrijobsucceeded', 'succeeded', 'complete']);
const FAILED = new Set([
  'failed',
  'completedwitherrors',
  'esrijobfailed',
  'esrijobcancelled',
  'esrijobcancelling',
  'esrijobtimedout',
  'cancelled',
  'canceled',
  'compilingfailed',
  'exportfailed',
]);

/**
 * A job status body (extractChanges, createReplica, item export, geoprocessing) read into a state:
 * its `status` word, case-insensitive; a failure says the server's message when it gave one.
 */
export function jobStatusState(body: JobStatus): JobState<JobStatus> {
  const status = typeof body.status === 'string' ? body.status : '';
  const word = status.toLowerCase();
  if (DONE.has(word)) return { state: 'done', value: body };
  if (FAILED.has(word)) return { state: 'failed', message: failureMessage(body, status) };
  return { state: 'running', ...(status ? { status } : {}) };
}

function failureMessage(body: JobStatus, status: string): string {
  const error = body.error as { message?: unknown } | undefined;
  if (typeof error?.message === 'string' && error.message !== '') return error.message;
  if (typeof body.statusMessage === 'string' && body.statusMessage !== '') return body.statusMessage;
  if (typeof error === 'object' && error) return JSON.stringify(error).slice(0, 300);
  return `its status is ${status}`;
}

/**
 * Polls an ArcGIS `statusUrl` until the job completes. Defaults suit short jobs (extractChanges):
 * 250 ms doubling to 15 s, no jitter, 2 hours at most.
 */
export async function pollStatusUrl(options: PollStatusUrlOptions): Promise<PollStatusUrlResult> {
  const { client, statusUrl, signal } = options;
  const { value, polls } = await pollJob<JobStatus>({
    initialDelayMs: options.initialDelayMs ?? 250,
    factor: options.factor ?? 2,
    maxDelayMs: options.maxDelayMs ?? 15_000,
    jitter: options.jitter ?? 0,
    timeoutMs: options.timeoutMs ?? 2 * 3600_000,
    maxPollFailures: options.maxPollFailures,
    runtime: options.runtime,
    signal,
    onPoll: options.onPoll,
    what: options.what ?? 'server job',
    check: async () =>
      jobStatusState(
        await client.request<JobStatus>(
          statusUrl,
          { ...options.params },
          { method: 'GET', ...(signal ? { signal } : {}) },
        ),
      ),
  });
  return { status: value, polls };
}
