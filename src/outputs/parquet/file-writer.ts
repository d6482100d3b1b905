/**
 * hyparquet-writer's byte writer, flushed to a file descriptor after each row group (the writer
 * calls `flush`): memory holds one row group at most. `offset` counts every byte of the file.
 */
import { writeSync } from 'node:fs';
import { ByteWriter } from 'hyparquet-writer';
import { EtlError } from '../../core/errors.js';

export class FileByteWriter extends ByteWriter {
  readonly #fd: number;
  readonly #path: string;

  constructor(fd: number, path: string) {
    super(1 << 20);
    this.#fd = fd;
    this.#path = path;
  }

  /** Continue at `bytes` of the file (resume): whatever the buffer holds is dropped. */
  restart(bytes: number): void {
    this.index = 0;
    this.offset = bytes;
  }

  flush(): void {
    const length = this.index;
    let done = 0;
    const start = this.offset - length;
    const bytes = new Uint8Array(this.buffer, 0, length);
    try {
      while (done < length) done += writeSync(this.#fd, bytes, done, length - done, start + done);
    } catch (cause) {
      const reason = cause instanceof Error ? `: ${cause.message}` : '';
      throw new EtlError('OUTPUT_ERROR', `Cannot write ${this.#path}${reason}`, { cause });
    }
    this.index = 0;
  }

  override finish(): void {
    this.flush();
  }
}
