/**
 * Polls an ArcGIS asynchronous job's `statusUrl` (extractChanges, createReplica, item export,
 * geoprocessing) until it completes or fails. Waits grow by `factor` up to `maxDelayMs`; each poll
 * goes through the client, so 429/503 answers are retried by the transport and an expired token is
 * refreshed (the job lives on the server: a new token polls it just as well).
 */
import type { ArcGISClient } from '../../client/arcgis-client.js';
import { EtlError } from '../../core/errors.js';
import { type Runtime, resolveRuntime } from '../../core/time.js';
import type { Params } from '../../http/types.js';

export interface PollJobOptions {
  client: ArcGISClient;
  statusUrl: string;
  /** Extra parameters of each status request (`f=json` is added). */
  params?: Params | undefined;
  /** First wait before the second poll (default 250 ms: short jobs end within a few polls). */
  initialDelayMs?: number | undefined;
  /** Growth of the wait between polls (default 2). */
  factor?: number | undefined;
  /** Longest wait between polls (default 15 s). */
  maxDelayMs?: number | undefined;
  /** Give up after this long (default 2 h): JOB_FAILED. */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
  runtime?: Partial<Runtime> | undefined;
  /** Called with each status answer (progress reporting). */
  onStatus?: ((status: JobStatus) => void) | undefined;
}

export interface JobStatus extends Record<string, unknown> {
  status?: string;
  resultUrl?: string;
}

export interface PollJobResult {
  status: JobStatus;
  polls: number;
}

const DONE = new Set(['completed', 'esrijobsucceeded', 'succeeded', 'complete']);
const FAILED = new Set([
  'failed',
  'esrijobfailed',
  'esrijobcancelled',
  'esrijobcancelling',
  'esrijobtimedout',
  'cancelled',
  'canceled',
  'compilingfailed',
  'exportfailed',
]);

/** The job's final status body once it completed; JOB_FAILED if it failed or ran out of time. */
export async function pollJob(options: PollJobOptions): Promise<PollJobResult> {
  const runtime = resolveRuntime(options.runtime);
  const started = runtime.clock.now();
  const timeout = options.timeoutMs ?? 2 * 60 * 60 * 1000;
  const factor = options.factor ?? 2;
  const maxDelay = options.maxDelayMs ?? 15_000;
  let delay = options.initialDelayMs ?? 250;
  let polls = 0;
  for (;;) {
    polls++;
    const status = await options.client.request<JobStatus>(
      options.statusUrl,
      { ...options.params },
      { method: 'GET', ...(options.signal ? { signal: options.signal } : {}) },
    );
    options.onStatus?.(status);
    const word = String(status.status ?? '').toLowerCase();
    if (DONE.has(word)) return { status, polls };
    if (FAILED.has(word)) {
      const why =
        typeof status.error === 'object' && status.error ? JSON.stringify(status.error).slice(0, 300) : word;
      throw new EtlError('JOB_FAILED', `The server job failed (${why})`, { url: options.statusUrl });
    }
    if (runtime.clock.now() - started + delay > timeout) {
      throw new EtlError(
        'JOB_FAILED',
        `The server job did not complete within ${Math.round(timeout / 1000)} s (last status: ${word || 'none'})`,
        {
          url: options.statusUrl,
        },
      );
    }
    await runtime.sleep(delay, options.signal);
    delay = Math.min(maxDelay, delay * factor);
  }
}
