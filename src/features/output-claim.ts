/**
 * Before an export makes any request, its output is checked and claimed:
 * - the output is not a folder, its folder exists and files can be created in it;
 * - an existing output is refused unless `overwrite`; `resume` keeps its own rules (a resumed or
 *   restarted run replaces the output, as the run it continues would have);
 * - a lock beside it (`<output>.lock`, created exclusively, holding pid and host) makes the output
 *   one export's at a time: a second export fails at once with OUTPUT_BUSY. A lock left by a dead
 *   process on this host is broken; any other lock is only removed by hand.
 * - once the lock is held, partial files and checkpoint temp files of earlier runs that were killed
 *   (random names, so never reused) are removed, except the partial file the checkpoint names.
 */
import { access, lstat, readdir, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { EtlError } from '../core/errors.js';
import { type Runtime, resolveRuntime } from '../core/time.js';
import { acquireLockFile } from '../stores/lock-file.js';
import { checkpointPath, readCheckpoint } from './checkpoint.js';

export interface ClaimOutputOptions {
  /** Replace an existing output (default false: an existing output is refused). */
  overwrite?: boolean | undefined;
  /** Resume keeps its own rules: the output may exist (the run replaces it when done). */
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
  if (info && options.overwrite !== true && options.resume !== true) {
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
  await removeOrphans(path);
  return {
    path,
    release: () => handle.release().catch(() => {}),
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Removes what killed runs left beside the output (called with the lock held, so no export is
 * writing them): `<output>.<random>.partial` not named by the checkpoint, and checkpoint temp files.
 * Best effort; a link is removed, never followed.
 */
async function removeOrphans(output: string): Promise<void> {
  const folder = dirname(output);
  const base = escapeRegExp(basename(output));
  // a partial file's side files go with it: SQLite's rollback journal (GeoPackage), the row group
  // list (GeoParquet)
  const orphan = new RegExp(
    `^${base}\\.(?:[0-9a-f]{12}\\.partial(?:-journal|-rowgroups)?|checkpoint\\.json\\.[0-9a-f]{12}\\.tmp)$`,
  );
  let keep: string | undefined;
  try {
    keep = (await readCheckpoint(checkpointPath(output)))?.partial;
  } catch {
    return; // a damaged checkpoint: leave everything for the user (resume reports it)
  }
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return;
  }
  for (const name of names) {
    const kept =
      keep !== undefined && (name === keep || name === `${keep}-journal` || name === `${keep}-rowgroups`);
    if (!kept && orphan.test(name)) await removeOrphan(join(folder, name));
  }
}

/** A partial file, or the private temp folder of a multi-file output (Shapefile, FlatGeobuf). */
async function removeOrphan(path: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (info?.isDirectory()) await rm(path, { recursive: true, force: true }).catch(() => {});
  else await unlink(path).catch(() => {});
}
