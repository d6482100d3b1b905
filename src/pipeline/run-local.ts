/**
 * A whole pipeline in one process: planned, then its layers exported a few at a time, sharing one
 * request budget per host and one token per credential (PipelineConnections). A failed layer does
 * not stop the others; the result lists what was written and what failed.
 */
import { reserveAbortListeners } from '../core/abort-listeners.js';
import { EtlError } from '../core/errors.js';
import { type Runtime, resolveRuntime } from '../core/time.js';
import type { ExportProgress } from '../features/export.js';
import { PipelineConnections, type PipelineConnectionsOptions } from './connections.js';
import { checkPipelineCredentials } from './credentials.js';
import type { LayerExportResult } from './layer-export.js';
import { planPipeline, serviceNameOf } from './plan.js';
import { runPipelineJobDetailed } from './run-job.js';
import type { PipelineJob, PipelineSource } from './types.js';

/** A source that gave no layer (its listing failed), as a job of its own for the results. */
function sourceJob(pipeline: string, source: PipelineSource): PipelineJob {
  return {
    pipeline,
    id: `${source.index}-*`,
    url: source.url,
    output: source.output,
    ...(source.credentials === undefined ? {} : { credentials: source.credentials }),
    options: source.options,
    service: serviceNameOf(source.url),
    layerId: -1,
    name: 'all layers',
  };
}

/** Layers exported at once (their queries share the host budgets either way). */
export const DEFAULT_LAYERS_AT_ONCE = 4;

export type JobEvent =
  | { type: 'planned'; jobs: readonly PipelineJob[] }
  | { type: 'start'; job: PipelineJob }
  | { type: 'progress'; job: PipelineJob; progress: ExportProgress }
  | { type: 'end'; result: JobResult };

export interface JobResult {
  job: PipelineJob;
  /** The figures of a written layer. */
  result?: LayerExportResult | undefined;
  /** Why it failed, when it did. */
  error?: unknown;
  elapsedMs: number;
}

export interface LocalRunOptions extends PipelineConnectionsOptions {
  /** Layers exported at once (default 4). */
  layersAtOnce?: number | undefined;
  signal?: AbortSignal | undefined;
  onEvent?: ((event: JobEvent) => void) | undefined;
  /** Shapefile notices and the like. */
  onNotice?: ((message: string) => void) | undefined;
}

export interface LocalRunResult {
  jobs: PipelineJob[];
  /** One per job, in job order. */
  results: JobResult[];
  failed: JobResult[];
  elapsedMs: number;
}

export async function runPipelineLocally(options: LocalRunOptions): Promise<LocalRunResult> {
  const { pipeline, signal } = options;
  const runtime: Partial<Runtime> | undefined = options.runtime;
  const clock = resolveRuntime(runtime).clock;
  const startedAt = clock.now();
  // every credential a source uses is there before any request
  checkPipelineCredentials(pipeline, options.env);
  const atOnce = Math.max(1, Math.floor(options.layersAtOnce ?? DEFAULT_LAYERS_AT_ONCE));
  // every running layer listens to the one signal (its writer, its tokens; its pages and requests
  // reserve their own room in the extraction)
  const release = reserveAbortListeners(signal, atOnce * 16);
  const connections = new PipelineConnections(options);
  try {
    // a source whose layers cannot be listed fails alone (as one job, `<index>-*`)
    const unlisted: JobResult[] = [];
    const planned = await planPipeline(pipeline, {
      clientFor: (source) => connections.clientFor(source.credentials, source.url),
      now: clock.now(),
      signal,
      onSourceFailure: (source, error) => {
        unlisted.push({ job: sourceJob(pipeline.id, source), error, elapsedMs: 0 });
      },
    });
    const jobs = [...planned, ...unlisted.map((r) => r.job)];
    options.onEvent?.({ type: 'planned', jobs });
    const results: JobResult[] = new Array(jobs.length);
    unlisted.forEach((r, i) => {
      results[planned.length + i] = r;
      options.onEvent?.({ type: 'end', result: r });
    });
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < planned.length && !signal?.aborted) {
        const index = next++;
        const job = jobs[index]!;
        const jobStart = clock.now();
        options.onEvent?.({ type: 'start', job });
        let result: JobResult;
        try {
          const client = await connections.clientFor(job.credentials, job.url);
          const detailed = await runPipelineJobDetailed(job, {
            client,
            signal,
            onProgress: (progress) => options.onEvent?.({ type: 'progress', job, progress }),
            onNotice: options.onNotice,
            runtime,
          });
          result = { job, result: detailed, elapsedMs: clock.now() - jobStart };
        } catch (error) {
          result = { job, error, elapsedMs: clock.now() - jobStart };
        }
        results[index] = result;
        options.onEvent?.({ type: 'end', result });
      }
    };
    await Promise.all(Array.from({ length: Math.min(atOnce, planned.length) }, worker));
    for (let i = 0; i < jobs.length; i++) {
      results[i] ??= {
        job: jobs[i]!,
        error: new EtlError('ABORTED', 'Interrupted before it started'),
        elapsedMs: 0,
      };
    }
    return {
      jobs,
      results,
      failed: results.filter((r) => r.error !== undefined),
      elapsedMs: clock.now() - startedAt,
    };
  } finally {
    release();
    await connections.close();
  }
}
