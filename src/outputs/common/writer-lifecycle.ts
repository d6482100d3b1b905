/**
 * The life of a FeatureWriter: its calls run one after another (each waits for the one before,
 * whether that failed or not), and once it has failed, finished or been aborted only `abort` may
 * still be called.
 */
import { EtlError } from '../../core/errors.js';

export type WriterState = 'open' | 'finished' | 'failed' | 'aborted';

export class WriterLifecycle {
  state: WriterState = 'open';
  #queue: Promise<unknown> = Promise.resolve();

  /** Runs `task` after every task queued before it. */
  enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Throws OUTPUT_ERROR unless the writer is open. */
  assertOpen(action: string): void {
    if (this.state !== 'open') {
      throw new EtlError('OUTPUT_ERROR', `Cannot ${action}: the writer is ${this.state}`);
    }
  }

  /**
   * Waits for the queued tasks, then marks the writer aborted; false when it had already finished
   * or been aborted (then there is nothing to undo).
   */
  async startAbort(): Promise<boolean> {
    await this.#queue.catch(() => {});
    if (this.state === 'finished' || this.state === 'aborted') return false;
    this.state = 'aborted';
    return true;
  }

  /** Runs `step`; a throw marks the writer failed and is rethrown, an EtlError as is, else `wrap`ped. */
  async guard(step: () => Promise<void>, wrap: (error: unknown) => EtlError): Promise<void> {
    try {
      await step();
    } catch (error) {
      this.state = 'failed';
      throw error instanceof EtlError ? error : wrap(error);
    }
  }
}
