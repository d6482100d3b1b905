/**
 * The emulator's asynchronous jobs (createReplica with async=true, portal item exports): each one
 * runs for `durationMs` of the server's clock (so a short token lifetime expires during it), then
 * completes (its file is built on first need) or fails when told to. Status polls and downloads can
 * be answered with faults, in order, from the job options.
 */
import { createHash } from 'node:crypto';

export type JobFault = 'http429' | 'http500' | 'http502' | 'http503' | 'http504' | 'html';

export interface JobOptions {
  /** How long a job runs on the server's clock, in ms (default 0: done at its first poll). */
  durationMs?: number;
  /** Jobs submitted from now on fail on the server (status Failed / failed). */
  fail?: boolean;
  /** The next status polls are answered with these faults, one each, in order. */
  statusFaults?: JobFault[];
  /** The next result downloads are answered with these faults, one each, in order. */
  downloadFaults?: JobFault[];
}

export interface JobFile {
  bytes: Uint8Array;
  contentType: string;
  /** File name with extension (e.g. `abc.zip`). */
  fileName: string;
}

export interface Job {
  readonly id: string;
  readonly kind: 'replica' | 'export';
  readonly submittedAt: number;
  readonly durationMs: number;
  readonly fails: boolean;
  /** What the job describes itself with (replica name, item ids…). */
  readonly info: Record<string, unknown>;
  readonly build: () => JobFile;
  file?: JobFile;
  deleted?: boolean;
}

export type JobPhase = 'running' | 'completed' | 'failed';

export class JobRegistry {
  #options: JobOptions;
  readonly #jobs = new Map<string, Job>();
  #next = 0;

  constructor(options: JobOptions = {}) {
    this.#options = { ...options };
  }

  set(options: JobOptions): void {
    this.#options = {
      ...options,
      ...(options.statusFaults ? { statusFaults: [...options.statusFaults] } : {}),
      ...(options.downloadFaults ? { downloadFaults: [...options.downloadFaults] } : {}),
    };
  }

  submit(
    kind: Job['kind'],
    now: number,
    info: Record<string, unknown>,
    build: () => JobFile,
    immediate = false,
  ): Job {
    const id = createHash('md5')
      .update(`job:${kind}:${++this.#next}`)
      .digest('hex');
    const job: Job = {
      id,
      kind,
      submittedAt: now,
      durationMs: immediate ? 0 : Math.max(0, this.#options.durationMs ?? 0),
      fails: !immediate && this.#options.fail === true,
      info,
      build,
    };
    this.#jobs.set(id, job);
    return job;
  }

  get(id: string): Job | undefined {
    const job = this.#jobs.get(id);
    return job?.deleted ? undefined : job;
  }

  phase(job: Job, now: number): JobPhase {
    if (now - job.submittedAt < job.durationMs) return 'running';
    return job.fails ? 'failed' : 'completed';
  }

  /** The job's file (built once). */
  file(job: Job): JobFile {
    job.file ??= job.build();
    return job.file;
  }

  /** The next fault planned for a status poll, if any. */
  statusFault(): JobFault | undefined {
    return this.#options.statusFaults?.shift();
  }

  downloadFault(): JobFault | undefined {
    return this.#options.downloadFaults?.shift();
  }
}
