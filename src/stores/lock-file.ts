/**
 * A cross-process lock on a lock file: created with its content in one step (written under a
 * temporary name, then hard-linked to the lock's name: an atomic "create if absent"), holding
 * `{ pid, host, at, owner }`. A lock older than `staleMs`, or held by a dead process on
 * this host, is broken (rename-then-verify, so two breakers never remove a fresh lock). Waiters
 * back off with the injected sleep (small, doubling, jittered). Every loop that does not take the
 * lock sleeps and honours the deadline: a lock path that can never be taken (a directory, a
 * dangling symlink, a file this user cannot read) is an error once the wait is over.
 */
import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { type ErrorCode, EtlError } from '../core/errors.js';
import { type Runtime, systemClock } from '../core/time.js';

export interface LockFileOptions {
  runtime: Runtime;
  /** A lock older than this is considered abandoned and broken. */
  staleMs: number;
  /** How long to wait before giving up (`timedOut` is then true and the lock is not held). */
  waitMs: number;
  signal?: AbortSignal | undefined;
  /** Called once, when the lock is busy and the caller starts waiting. */
  onWait?: (() => void) | undefined;
  /** First and maximum backoff between attempts. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** What the lock guards, for messages (default "the token cache lock"). */
  label?: string;
  /** Code of the error for a lock path that cannot be taken (default CACHE_ERROR). */
  errorCode?: ErrorCode;
}

/** Who holds a lock, as its file says (undefined when unreadable). */
export interface LockHolder {
  pid: number;
  host: string;
  at: number;
}

export interface LockFileHandle {
  /** False when the wait timed out (the caller decides whether to go on without the lock). */
  readonly acquired: boolean;
  /** Attempts made (1 when the lock was free). */
  readonly attempts: number;
  /** How many stale locks were broken on the way. */
  readonly broken: number;
  /** When not acquired: the holder named by the lock file. */
  readonly holder?: LockHolder | undefined;
  release(): Promise<void>;
}

interface LockContent {
  pid: number;
  host: string;
  at: number;
  owner: string;
}

const HOST = hostname();

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function parseContent(text: string): LockContent | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockContent>;
    if (typeof value.pid === 'number' && typeof value.at === 'number' && typeof value.owner === 'string') {
      return { pid: value.pid, at: value.at, owner: value.owner, host: String(value.host ?? '') };
    }
  } catch {
    // fall through
  }
  return undefined;
}

function processIsDead(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return errnoCode(error) === 'ESRCH';
  }
}

async function isStale(lockPath: string, text: string, options: LockFileOptions): Promise<boolean> {
  const content = parseContent(text);
  if (content) {
    if (content.host === HOST && processIsDead(content.pid)) return true;
    return options.runtime.clock.now() - content.at > options.staleMs;
  }
  // Being written right now, or garbage: judge by its age on disk.
  try {
    const info = await stat(lockPath);
    return systemClock.now() - info.mtimeMs > options.staleMs;
  } catch {
    return false;
  }
}

/** Removes the lock at `lockPath` only if it still holds `observed`. */
async function breakLock(lockPath: string, observed: string): Promise<void> {
  const grave = `${lockPath}.${randomBytes(6).toString('hex')}.stale`;
  try {
    await rename(lockPath, grave);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw error;
  }
  const taken = await readFile(grave, 'utf8').catch(() => '');
  if (taken !== observed) {
    // Someone replaced the stale lock with a fresh one in between: put theirs back.
    await link(grave, lockPath).catch(() => undefined);
  }
  await unlink(grave).catch(() => undefined);
}

/**
 * Creates the lock with its content in one step: written whole under a temporary name, then linked
 * to the lock's name (which fails when a lock is there). A lock created empty and then written could
 * be left empty by a process killed in between, and an empty lock names no holder to break it.
 */
async function tryCreate(lockPath: string, content: LockContent, madeFolder = false): Promise<boolean> {
  const temp = `${lockPath}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, JSON.stringify(content), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' && !madeFolder) {
      await mkdir(path.dirname(lockPath), { recursive: true, mode: 0o700 });
      return tryCreate(lockPath, content, true);
    }
    throw error;
  }
  try {
    await link(temp, lockPath);
    return true;
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'EEXIST') return false;
    // a file system without hard links: create it exclusively, then write it
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP')
      return createThenWrite(lockPath, content);
    throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function createThenWrite(lockPath: string, content: LockContent): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(lockPath, 'wx', 0o600);
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(JSON.stringify(content));
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(lockPath).catch(() => undefined);
    throw error;
  }
  await handle.close();
  return true;
}

async function releaseLock(lockPath: string, owner: string): Promise<void> {
  const text = await readFile(lockPath, 'utf8').catch(() => '');
  if (parseContent(text)?.owner !== owner) return; // broken as stale and taken by someone else
  await unlink(lockPath).catch(() => undefined);
}

/**
 * Why a lock path that exists cannot be read as a lock: it is a directory, a symlink (never
 * followed: `wx` refuses it), or a file this user cannot read. Undefined when it is simply gone.
 */
async function unusable(lockPath: string, readError: unknown): Promise<string | undefined> {
  const code = errnoCode(readError);
  let info: Awaited<ReturnType<typeof lstat>>;
  try {
    info = await lstat(lockPath);
  } catch {
    return undefined; // released in between
  }
  if (info.isSymbolicLink()) return 'it is a symbolic link';
  if (info.isDirectory()) return 'it is a directory';
  if (code === 'EACCES' || code === 'EPERM') return 'it cannot be read (permission denied)';
  if (!info.isFile()) return 'it is not a regular file';
  return code === 'ENOENT' ? undefined : `it cannot be read (${code ?? 'unknown error'})`;
}

export async function acquireLockFile(lockPath: string, options: LockFileOptions): Promise<LockFileHandle> {
  const { clock, sleep, random } = options.runtime;
  const label = options.label ?? 'the token cache lock';
  const owner = randomBytes(12).toString('hex');
  const deadline = clock.now() + options.waitMs;
  const maxDelay = options.maxDelayMs ?? 200;
  let delay = options.minDelayMs ?? 5;
  let attempts = 0;
  let broken = 0;
  let waiting = false;
  /** Attempts in a row that found the lock gone or broke it, without sleeping. */
  let quickRetries = 0;
  for (;;) {
    if (options.signal?.aborted) {
      throw new EtlError('ABORTED', `Aborted while waiting for ${label}`, {
        cause: options.signal.reason,
      });
    }
    attempts++;
    const content: LockContent = { pid: process.pid, host: HOST, at: clock.now(), owner };
    if (await tryCreate(lockPath, content)) {
      return { acquired: true, attempts, broken, release: () => releaseLock(lockPath, owner) };
    }
    let problem: string | undefined;
    let holder: LockHolder | undefined;
    let existing: string | undefined;
    try {
      existing = await readFile(lockPath, 'utf8');
    } catch (error) {
      problem = await unusable(lockPath, error);
    }
    if (existing !== undefined) {
      if (await isStale(lockPath, existing, options)) {
        await breakLock(lockPath, existing);
        broken++;
        // a broken lock is normally taken at the next attempt; a lock that keeps being broken
        // (or keeps vanishing) still waits below, so this loop never spins
        if (++quickRetries <= 3) continue;
      }
      const parsed = parseContent(existing);
      if (parsed) holder = { pid: parsed.pid, host: parsed.host, at: parsed.at };
    } else if (problem === undefined && ++quickRetries <= 3) {
      continue; // released in between: try again at once
    }
    if (clock.now() >= deadline) {
      if (problem !== undefined) {
        throw new EtlError(
          options.errorCode ?? 'CACHE_ERROR',
          `Cannot take ${label} ${lockPath}: ${problem}; remove it or choose another path`,
        );
      }
      return { acquired: false, attempts, broken, holder, release: async () => {} };
    }
    quickRetries = 0;
    if (!waiting) {
      waiting = true;
      options.onWait?.();
    }
    const jittered = Math.max(1, Math.round(delay * (0.5 + random() / 2)));
    try {
      await sleep(Math.min(jittered, Math.max(1, deadline - clock.now())), options.signal);
    } catch (cause) {
      throw new EtlError('ABORTED', `Aborted while waiting for ${label}`, { cause });
    }
    delay = Math.min(delay * 2, maxDelay);
  }
}
