/**
 * Atomic file output: everything goes to a temp file next to the target, which is fsynced and
 * renamed onto the target on finish. The target does not exist (or keeps its old content) until
 * then, so a failed run never leaves a half-written target. A resumed run reopens the temp file
 * and truncates it to the checkpoint.
 *
 * The temp file is created exclusively (`O_EXCL`) without following a link (`O_NOFOLLOW`), mode
 * 0600 until it is published: a file or symlink planted at its name is refused, never written
 * through. A resumed temp file is reopened without following a link either.
 */

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { EtlError } from '../../core/errors.js';
import type { OutputSink } from './sink.js';

export interface FileSinkOptions {
  target: string;
  temp: string;
  /** Resume: keep the first `bytes` of the existing temp file. */
  resumeAt?: number | undefined;
  /** Checks the kept content (its length is `resumeAt`); throws CHECKPOINT_INVALID when it is not right. */
  verify?: ((lastByte: string) => void) | undefined;
}

/** A fresh temp name beside `target`: `<target>.<random>.partial`. */
export function randomTempPath(target: string): string {
  return join(dirname(target), `${basename(target)}.${randomBytes(6).toString('hex')}.partial`);
}

// O_NOFOLLOW is 0 where the platform has none (Windows): there, exclusive creation still refuses
// a planted file.
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW;
const REOPEN_FLAGS = constants.O_RDWR | NOFOLLOW;

/** The mode a file created now would get (0666 less the umask): the published file's mode. */
function publishedMode(): number {
  return 0o666 & ~process.umask();
}

function outputError(message: string, cause: unknown): EtlError {
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  return new EtlError('OUTPUT_ERROR', `${message}${reason}`, { cause });
}

export async function openFileSink(options: FileSinkOptions): Promise<OutputSink> {
  const { target, temp } = options;
  let handle: FileHandle;
  let position = 0;
  if (options.resumeAt === undefined) {
    try {
      handle = await open(temp, CREATE_FLAGS, 0o600);
    } catch (cause) {
      throw outputError(`Cannot create ${temp}`, cause);
    }
  } else {
    const bytes = options.resumeAt;
    try {
      handle = await open(temp, REOPEN_FLAGS);
      if (!(await handle.stat()).isFile()) {
        await handle.close();
        throw new Error('not a regular file');
      }
    } catch (cause) {
      throw new EtlError('CHECKPOINT_INVALID', `Cannot reopen the partial output ${temp} to resume`, {
        cause,
      });
    }
    try {
      const { size } = await handle.stat();
      if (size < bytes) {
        throw new EtlError(
          'CHECKPOINT_INVALID',
          `The partial output ${temp} has ${size} bytes, fewer than the checkpoint's ${bytes}`,
        );
      }
      if (bytes > 0 && options.verify !== undefined) {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, bytes - 1);
        options.verify(last.toString('latin1'));
      }
      await handle.truncate(bytes);
    } catch (error) {
      await handle.close().catch(() => {});
      if (error instanceof EtlError) throw error;
      throw outputError(`Cannot resume ${temp}`, error);
    }
    position = bytes;
  }

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };

  return {
    async write(chunk) {
      try {
        let offset = 0;
        while (offset < chunk.length) {
          const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset, position);
          offset += bytesWritten;
          position += bytesWritten;
        }
      } catch (cause) {
        throw outputError(`Cannot write ${temp}`, cause);
      }
    },
    async finish() {
      try {
        await handle.chmod(publishedMode());
        await handle.sync();
        await close();
        await rename(temp, target);
      } catch (cause) {
        throw outputError(`Cannot publish ${target}`, cause);
      }
      await syncDirectory(dirname(target));
    },
    async abort(keep) {
      await close().catch(() => {});
      if (!keep) await unlink(temp).catch(() => {});
    },
  };
}

/** Makes the rename durable. Best effort: some platforms cannot open a directory. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // not supported here (e.g. Windows): the rename itself is still atomic
  }
}
