/**
 * `--log-file`: the audit trail, appended as JSON lines (mode 0600 when created). It is opened
 * before any request, so an unusable path is a USAGE error up front. A write that fails later
 * (disk full, …) is reported once on stderr and remembered: the command then ends non-zero, since
 * an audit trail that was asked for is part of the job.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { EtlError } from '../core/errors.js';

export class AuditLog {
  readonly path: string;
  #fd: number | undefined;
  #failure: Error | undefined;
  readonly #warn: (line: string) => void;

  private constructor(path: string, fd: number, warn: (line: string) => void) {
    this.path = path;
    this.#fd = fd;
    this.#warn = warn;
  }

  /** Opens `path` for appending; USAGE when it cannot be (a folder, a missing folder, no permission). */
  static open(path: string, warn: (line: string) => void): AuditLog {
    try {
      return new AuditLog(path, openSync(path, 'a', 0o600), warn);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      const why =
        code === 'EISDIR'
          ? 'it is a folder'
          : code === 'ENOENT'
            ? 'its folder does not exist'
            : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
              ? 'it is not writable'
              : (code ?? 'unknown error');
      throw new EtlError('USAGE', `Cannot use the log file ${path}: ${why}`, { cause });
    }
  }

  /** The first write error, if any: the trail is incomplete. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** pino's destination interface: one JSON line per call. Never throws. */
  write(line: string): void {
    if (this.#fd === undefined || this.#failure !== undefined) return;
    try {
      const bytes = Buffer.from(line);
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(this.#fd, bytes, offset);
    } catch (error) {
      this.#failure = error instanceof Error ? error : new Error(String(error));
      const code = (error as NodeJS.ErrnoException).code;
      this.#warn(
        `warning: cannot write the log file ${this.path} (${code ?? this.#failure.message}): the audit trail is incomplete, the command will end with an error`,
      );
    }
  }

  close(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    try {
      closeSync(fd);
    } catch {
      // closing is best effort
    }
  }

  /** Throws OUTPUT_ERROR when a write failed (call at the end of a command that otherwise succeeded). */
  check(): void {
    if (this.#failure === undefined) return;
    throw new EtlError(
      'OUTPUT_ERROR',
      `The log file ${this.path} could not be written (${(this.#failure as NodeJS.ErrnoException).code ?? this.#failure.message}): the audit trail is incomplete`,
      { cause: this.#failure },
    );
  }
}
