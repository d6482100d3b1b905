/**
 * Progress of a pipeline: one line per layer and a total. On a TTY the running layers and the total
 * are redrawn in place (a finished layer's summary stays above them); otherwise each layer's line is
 * printed when it ends, and the total every few seconds. Nothing when quiet.
 */
import type { Writable } from 'node:stream';
import type { Clock } from '../core/time.js';
import type { ExportProgress } from '../features/export.js';
import type { PipelineJob } from '../pipeline/types.js';
import { formatDuration, formatInt } from './format.js';
import { describeProgress } from './progress.js';

export interface PipelineProgressOptions {
  stream: Writable & { isTTY?: boolean; columns?: number };
  mode: 'auto' | 'quiet';
  clock: Clock;
  /** Total-line interval when not a TTY (default 5 s). */
  intervalMs?: number;
  /** Redraw interval on a TTY (default 200 ms). */
  redrawMs?: number;
}

export interface PipelineProgress {
  planned(jobs: readonly PipelineJob[]): void;
  start(job: PipelineJob): void;
  update(job: PipelineJob, progress: ExportProgress): void;
  /** A layer ended: its line (summary or failure) is printed for good. */
  end(job: PipelineJob, line: string, ok: boolean, features?: number): void;
  /** Clears the redrawn block (before the last lines). */
  done(): void;
}

/** `0-3 Parcels/3 "Lots"`: how a job is named in lines. */
export function jobLabel(job: PipelineJob): string {
  return `${job.id} ${job.service}/${job.layerId} "${job.name}"`;
}

export function createPipelineProgress(options: PipelineProgressOptions): PipelineProgress {
  const { stream, clock } = options;
  const quiet = options.mode === 'quiet';
  const tty = stream.isTTY === true;
  const interval = tty ? (options.redrawMs ?? 200) : (options.intervalMs ?? 5000);
  const startedAt = clock.now();
  const running = new Map<string, { job: PipelineJob; progress: ExportProgress | undefined }>();
  let total = 0;
  let ended = 0;
  let failed = 0;
  let featuresDone = 0;
  let drawnLines = 0;
  let last = Number.NEGATIVE_INFINITY;

  const totalLine = () => {
    const inFlight = [...running.values()].reduce((n, r) => n + (r.progress?.features ?? 0), 0);
    return [
      `total: ${formatInt(ended)}/${formatInt(total)} layers done`,
      ...(failed > 0 ? [`${formatInt(failed)} failed`] : []),
      `${formatInt(running.size)} running`,
      `${formatInt(featuresDone + inFlight)} features`,
      formatDuration(clock.now() - startedAt),
    ].join(' · ');
  };
  const clear = () => {
    if (!tty || drawnLines === 0) return;
    stream.write(`\x1b[${drawnLines}A\r\x1b[J`);
    drawnLines = 0;
  };
  const draw = (force: boolean) => {
    const now = clock.now();
    if (!force && now - last < interval) return;
    last = now;
    if (tty) {
      clear();
      const width = Math.max(20, (stream.columns ?? 80) - 1);
      const lines = [...running.values()].map((r) =>
        `${jobLabel(r.job)}: ${r.progress ? describeProgress(r.progress) : 'starting'}`.slice(0, width),
      );
      lines.push(totalLine().slice(0, width));
      stream.write(`${lines.join('\n')}\n`);
      drawnLines = lines.length;
    } else {
      stream.write(`progress: ${totalLine()}\n`);
    }
  };
  if (quiet) {
    return { planned() {}, start() {}, update() {}, end() {}, done() {} };
  }
  return {
    planned(jobs) {
      total = jobs.length;
    },
    start(job) {
      running.set(job.id, { job, progress: undefined });
      if (tty) draw(false);
    },
    update(job, progress) {
      const r = running.get(job.id);
      if (r) r.progress = progress;
      draw(false);
    },
    end(job, line, ok, features = 0) {
      running.delete(job.id);
      ended++;
      if (!ok) failed++;
      featuresDone += features;
      clear();
      stream.write(`${jobLabel(job)}: ${line}\n`);
      if (tty) draw(true);
    },
    done() {
      clear();
    },
  };
}
