/**
 * Before an export makes any request, its output is checked and claimed:
 * - the output is not a folder, its folder exists and files can be created in it;
 * - an existing output is refused unless `overwrite` (or `resume` finds a checkpoint to go on with);
 * - a lock beside it (`<output>.lock`, created exclusively, holding pid and host) makes the output
 *   one export's at a time: a second export fails at once with OUTPUT_BUSY. A lock left by a dead
 *   process on this host is broken; any other lock is only removed by hand.
 */
import { access, lstat, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EtlError } from '../core/errors.js';
import { type Runtime, resolveRuntime } from '../core/time.js';
import { acquireLockFile } from '../stores/lock-file.js';
import { checkpointPath } from './checkpoint.js';

export interface ClaimOutputOptions {
  /** Replace an existing output (default false: an existing output is refused). */
  overwrite?: boolean | undefined;
  /** A checkpoint beside the output lets the run go on, whether or not the output exists. */
  resume?: boolean | undefined;
  runtime?: Partial<Runtime> | undefined;
}

export interface OutputClaim {
  readonly path: string;
  /** Removes the lock (only if it is still ours). Never throws. */
  release(): Promise<void>;
}

export function outputLockPath(output: string): string {
  return `${output}.lock`;
}

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks that a file can be written at `path` (for side files: stats, logs): not a folder, its
 * folder exists, and it (or its folder, when it does not exist yet) is writable. USAGE otherwise.
 */
export async function checkWritableFile(path: string, what: string): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>> | undefined;
  try {
    info = await stat(path);
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') {
      throw new EtlError('USAGE', `Cannot use ${path} as ${what}: ${errnoCode(error) ?? 'unknown error'}`, {
        cause: error,
      });
    }
  }
  if (info?.isDirectory()) {
    throw new EtlError('USAGE', `${what} ${path} is a folder: give a file name`);
  }
  if (info) {
    try {
      await access(path, 2 /* W_OK */);
    } catch (cause) {
      throw new EtlError('USAGE', `${what} ${path} is not writable`, { cause });
    }
    return;
  }
  await checkFolder(path, what);
}

async function checkFolder(path: string, what: string): Promise<void> {
  const folder = dirname(path);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(folder);
  } catch (cause) {
    throw new EtlError('USAGE', `The folder of ${what} ${path} does not exist (${folder})`, { cause });
  }
  if (!info.isDirectory()) {
    throw new EtlError('USAGE', `The folder of ${what} ${path} is not a folder (${folder})`);
  }
  try {
    await access(folder, 3 /* W_OK | X_OK */);
  } catch (cause) {
    throw new EtlError('USAGE', `The folder of ${what} ${path} is not writable (${folder})`, { cause });
  }
}

/** Checks the output (see the module comment) and takes its lock. `-` (stdout) needs neither. */
export async function claimOutput(path: string, options: ClaimOutputOptions = {}): Promise<OutputClaim> {
  if (path === '-') return { path, release: async () => {} };
  let info: Awaited<ReturnType<typeof stat>> | undefined;
  try {
    info = await stat(path);
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') {
      throw new EtlError('USAGE', `Cannot use the output ${path}: ${errnoCode(error) ?? 'unknown error'}`, {
        cause: error,
      });
    }
  }
  if (info?.isDirectory()) {
    throw new EtlError(
      'USAGE',
      `The output ${path} is a folder: give a file name (e.g. ${path}/layer.geojson)`,
    );
  }
  await checkFolder(path, 'the output');
  if (
    info &&
    options.overwrite !== true &&
    !(options.resume === true && (await exists(checkpointPath(path))))
  ) {
    throw new EtlError(
      'USAGE',
      `The output ${path} already exists: pass --overwrite to replace it, or choose another name`,
    );
  }

  const lockPath = outputLockPath(path);
  let handle: Awaited<ReturnType<typeof acquireLockFile>>;
  try {
    handle = await acquireLockFile(lockPath, {
      runtime: resolveRuntime(options.runtime),
      // an export may run for hours: only a dead holder (same host) makes the lock stale
      staleMs: Number.POSITIVE_INFINITY,
      waitMs: 0,
      label: 'the output lock',
      errorCode: 'OUTPUT_ERROR',
    });
  } catch (error) {
    if (error instanceof EtlError) throw error;
    const code = errnoCode(error);
    throw new EtlError(
      'USAGE',
      `Cannot create files beside the output ${path} (${code ?? 'unknown error'}): is its folder writable?`,
      { cause: error },
    );
  }
  if (!handle.acquired) {
    const holder = handle.holder;
    const who = holder
      ? ` (pid ${holder.pid} on ${holder.host || 'an unknown host'}, since ${new Date(holder.at).toISOString()})`
      : '';
    throw new EtlError(
      'OUTPUT_BUSY',
      `The output ${path} is being written by another export${who}; if no export is running, remove ${lockPath}`,
    );
  }
  return {
    path,
    release: () => handle.release().catch(() => {}),
  };
}
