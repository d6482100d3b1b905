/**
 * A private temp folder beside the target (`<target>.<random>.partial`, mode 0700) for outputs made
 * of several files or finished in a second pass: nothing is published until `publish` renames the
 * finished files onto their targets; `discard` removes the folder.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { EtlError } from '../../core/errors.js';

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const CREATE_FLAGS = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | NOFOLLOW;

export function outputError(message: string, cause: unknown): EtlError {
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  return new EtlError('OUTPUT_ERROR', `${message}${reason}`, { cause });
}

/** A file being written at explicit positions (appends, and headers patched at the end). */
export class TempFile {
  readonly path: string;
  readonly #handle: FileHandle;
  size = 0;
  #closed = false;

  private constructor(path: string, handle: FileHandle) {
    this.path = path;
    this.#handle = handle;
  }

  static async create(path: string): Promise<TempFile> {
    try {
      return new TempFile(path, await open(path, CREATE_FLAGS, 0o600));
    } catch (cause) {
      throw outputError(`Cannot create ${path}`, cause);
    }
  }

  async append(bytes: Uint8Array): Promise<void> {
    await this.writeAt(bytes, this.size);
    this.size += bytes.length;
  }

  async writeAt(bytes: Uint8Array, position: number): Promise<void> {
    try {
      let offset = 0;
      while (offset < bytes.length) {
        const { bytesWritten } = await this.#handle.write(
          bytes,
          offset,
          bytes.length - offset,
          position + offset,
        );
        offset += bytesWritten;
      }
    } catch (cause) {
      throw outputError(`Cannot write ${this.path}`, cause);
    }
  }

  async readAt(into: Uint8Array, position: number, length: number): Promise<void> {
    let offset = 0;
    while (offset < length) {
      const { bytesRead } = await this.#handle.read(into, offset, length - offset, position + offset);
      if (bytesRead === 0) throw new EtlError('OUTPUT_ERROR', `Unexpected end of ${this.path}`);
      offset += bytesRead;
    }
  }

  get fd(): number {
    return this.#handle.fd;
  }

  /** fsync and close (before publishing). */
  async seal(mode: number): Promise<void> {
    try {
      await this.#handle.chmod(mode);
      await this.#handle.sync();
    } catch (cause) {
      throw outputError(`Cannot write ${this.path}`, cause);
    }
    await this.close();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }
}

export class TempDir {
  readonly path: string;

  private constructor(path: string) {
    this.path = path;
  }

  /** A fresh private folder beside `target`. */
  static async create(target: string): Promise<TempDir> {
    const path = join(dirname(target), `${basename(target)}.${randomBytes(6).toString('hex')}.partial`);
    try {
      await mkdir(path, { mode: 0o700 });
    } catch (cause) {
      throw outputError(`Cannot create ${path}`, cause);
    }
    return new TempDir(path);
  }

  file(name: string): Promise<TempFile> {
    return TempFile.create(join(this.path, name));
  }

  /** Renames each finished file (its name in this folder) onto its target, in order; then removes the folder. */
  async publish(moves: readonly { name: string; target: string }[]): Promise<void> {
    for (const { name, target } of moves) {
      try {
        await rename(join(this.path, name), target);
      } catch (cause) {
        throw outputError(`Cannot publish ${target}`, cause);
      }
    }
    await syncDirectory(dirname(moves[0]?.target ?? this.path));
    await this.discard();
  }

  async discard(): Promise<void> {
    await rm(this.path, { recursive: true, force: true }).catch(() => {});
  }
}

/** The mode a file created now would get (0666 less the umask): the published files' mode. */
export function publishedMode(): number {
  return 0o666 & ~process.umask();
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // not supported here: the renames are still atomic one by one
  }
}
