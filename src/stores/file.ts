/**
 * A token cache in one JSON file, shared by every process of the user:
 * `{ "version": 1, "entries": { [key]: { expiresAt, record | sealed } } }`.
 *
 * - written 0600 (directory 0700), atomically (unique temp file in the same directory + rename);
 * - every read-modify-write runs under `<path>.lock`, so concurrent processes never lose an update;
 * - `withLock(key)` uses a lock file per key (`<path>.<hash>.lock`), so two processes on an empty
 *   cache make one token request between them;
 * - a corrupt or foreign file is reported once as a warning, read as empty and replaced on the
 *   next write; expired entries are pruned on write; I/O problems never throw into the pipeline.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import { isEtlError } from '../core/errors.js';
import { createEmitter, type Emit } from '../core/events.js';
import { type Runtime, resolveRuntime } from '../core/time.js';
import { RecordCodec } from './codec.js';
import { resolveCacheKey } from './crypto.js';
import { acquireLockFile, type LockFileHandle } from './lock-file.js';
import { KeyedMutex } from './mutex.js';
import { defaultTokenCachePath } from './paths.js';
import { toStoredRecord } from './record.js';
import type { LockOptions, TokenRecord, TokenStore } from './types.js';
import { StoreWarnings } from './warnings.js';

export interface FileStoreOptions {
  /** The cache file; default: the user's cache directory (see `defaultTokenCachePath`). */
  path?: string;
  /** Passphrase for encryption at rest; default `ARCGIS_ETL_CACHE_KEY`; `null` or '' turns it off. */
  key?: string | null;
  runtime?: Partial<Runtime>;
  emit?: Emit;
  /** A lock file older than this is abandoned and broken (default 30 s). */
  lockTtlMs?: number;
  /** How long to wait for a lock before going on without it, with a warning (default 60 s). */
  lockWaitMs?: number;
}

export const CACHE_FILE_VERSION = 1;

interface FileEntry {
  expiresAt: number;
  record?: unknown;
  sealed?: string;
}

interface Loaded {
  entries: Map<string, FileEntry>;
  /** Why the file was (partly) unreadable, when it was. */
  problem?: string;
}

export interface FileStoreStats {
  /** Files written (atomic renames). */
  writes: number;
  /** Lock acquisitions that had to wait for another holder. */
  lockWaits: number;
  /** Stale lock files broken. */
  brokenLocks: number;
  warnings: number;
}

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function describe(error: unknown): string {
  const code = errnoCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code ? `${code}: ${message}` : message;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseEntry(value: unknown): FileEntry | undefined {
  if (!isPlainObject(value)) return undefined;
  const { expiresAt, record, sealed } = value;
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) return undefined;
  if (typeof sealed === 'string') return { expiresAt, sealed };
  if (isPlainObject(record)) return { expiresAt, record };
  return undefined;
}

/** Parses the file's text; never throws. */
export function parseCacheFile(text: string): Loaded {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { entries: new Map(), problem: 'is not valid JSON' };
  }
  if (!isPlainObject(value)) return { entries: new Map(), problem: 'is not a JSON object' };
  if (value.version !== CACHE_FILE_VERSION) {
    return {
      entries: new Map(),
      problem: `has an unknown version (${JSON.stringify(value.version) ?? 'none'})`,
    };
  }
  if (!isPlainObject(value.entries)) return { entries: new Map(), problem: 'has no entries object' };
  const entries = new Map<string, FileEntry>();
  let invalid = 0;
  for (const [key, raw] of Object.entries(value.entries)) {
    const entry = parseEntry(raw);
    if (entry) entries.set(key, entry);
    else invalid++;
  }
  return invalid === 0
    ? { entries }
    : { entries, problem: `has ${invalid} malformed entr${invalid === 1 ? 'y' : 'ies'}` };
}

export class FileStore implements TokenStore {
  readonly name = 'file';
  readonly path: string;
  readonly stats: FileStoreStats = { writes: 0, lockWaits: 0, brokenLocks: 0, warnings: 0 };
  readonly #runtime: Runtime;
  readonly #emit: Emit;
  readonly #codec: RecordCodec;
  readonly #lockTtlMs: number;
  readonly #lockWaitMs: number;
  readonly #keyLocks = new KeyedMutex();
  readonly #fileLock = new KeyedMutex();
  readonly #warnings: StoreWarnings;

  constructor(options: FileStoreOptions = {}) {
    this.path = path.resolve(options.path ?? defaultTokenCachePath());
    this.#runtime = resolveRuntime(options.runtime);
    this.#emit = options.emit ?? createEmitter();
    this.#warnings = new StoreWarnings(this.#emit, this.stats);
    this.#codec = new RecordCodec(resolveCacheKey(options.key));
    this.#lockTtlMs = options.lockTtlMs ?? 30_000;
    this.#lockWaitMs = options.lockWaitMs ?? 60_000;
  }

  /** Whether entries are encrypted at rest. */
  get encrypted(): boolean {
    return this.#codec.encrypted;
  }

  /** The lock file used by `withLock(key)`. */
  lockPathFor(key: string): string {
    return `${this.path}.${createHash('sha256').update(key).digest('hex').slice(0, 16)}.lock`;
  }

  async get(key: string): Promise<TokenRecord | undefined> {
    const { entries } = await this.#load();
    const entry = entries.get(key);
    if (!entry || entry.expiresAt <= this.#runtime.clock.now()) return undefined;
    const result =
      entry.sealed !== undefined
        ? this.#codec.decodeSealed(key, entry.sealed)
        : this.#codec.decodePlain(entry.record);
    if (!result.ok) {
      this.#warnings.once(
        `entry\0${key}\0${entry.sealed ?? JSON.stringify(entry.record)}`,
        `token cache file ${this.path}: entry "${key}": ${result.problem}; treated as a miss`,
      );
      return undefined;
    }
    return result.record;
  }

  async set(key: string, record: TokenRecord, ttlMs: number): Promise<void> {
    if (!(ttlMs > 0)) {
      await this.delete(key);
      return;
    }
    const expiresAt = this.#runtime.clock.now() + ttlMs;
    const entry: FileEntry = this.#codec.encrypted
      ? { expiresAt, sealed: this.#codec.seal(key, record) }
      : { expiresAt, record: toStoredRecord(record) };
    await this.#update((entries) => {
      entries.set(key, entry);
      return true;
    });
  }

  async delete(key: string, ifToken?: string): Promise<void> {
    await this.#update((entries) => {
      const entry = entries.get(key);
      if (!entry) return false;
      if (ifToken !== undefined) {
        const result =
          entry.sealed !== undefined
            ? this.#codec.decodeSealed(key, entry.sealed)
            : this.#codec.decodePlain(entry.record);
        if (!result.ok || result.record.token !== ifToken) return false;
      }
      entries.delete(key);
      return true;
    });
  }

  withLock<T>(key: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    return this.#keyLocks.run(key, async () => {
      const handle = await this.#acquire(this.lockPathFor(key), options, `the lock for "${key}"`);
      try {
        return await fn();
      } finally {
        await handle?.release().catch(() => undefined);
      }
    });
  }

  async close(): Promise<void> {}

  async #acquire(lockPath: string, options: LockOptions, what: string): Promise<LockFileHandle | undefined> {
    const waitMs = options.waitMs ?? this.#lockWaitMs;
    let handle: LockFileHandle;
    try {
      handle = await acquireLockFile(lockPath, {
        runtime: this.#runtime,
        staleMs: options.ttlMs ?? this.#lockTtlMs,
        waitMs,
        signal: options.signal,
        onWait: () => {
          this.stats.lockWaits++;
          this.#emit({ type: 'token.cache', store: this.name, outcome: 'wait', detail: what });
        },
      });
    } catch (error) {
      if (isEtlError(error, 'ABORTED')) throw error;
      this.#warnings.warn(
        `token cache file ${this.path}: could not take ${what} (${describe(error)}); going on without it`,
      );
      return undefined;
    }
    this.stats.brokenLocks += handle.broken;
    if (!handle.acquired) {
      this.#warnings.warn(
        `token cache file ${this.path}: waited ${waitMs} ms for ${what}; going on without it`,
      );
      return undefined;
    }
    return handle;
  }

  /** Read-modify-write under the file lock. `mutate` answers whether it changed anything. */
  #update(mutate: (entries: Map<string, FileEntry>) => boolean): Promise<void> {
    return this.#fileLock.run('', async () => {
      const handle = await this.#acquire(`${this.path}.lock`, {}, 'the cache file lock');
      try {
        const loaded = await this.#load();
        const now = this.#runtime.clock.now();
        let changed = loaded.problem !== undefined;
        for (const [key, entry] of loaded.entries) {
          if (entry.expiresAt <= now) {
            loaded.entries.delete(key);
            changed = true;
          }
        }
        if (mutate(loaded.entries)) changed = true;
        if (changed) await this.#write(loaded.entries);
      } catch (error) {
        this.#warnings.warn(`token cache file ${this.path}: could not write (${describe(error)})`);
      } finally {
        await handle?.release().catch(() => undefined);
      }
    });
  }

  async #load(): Promise<Loaded> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return { entries: new Map() };
      this.#warnings.once(
        `read\0${errnoCode(error)}`,
        `token cache file ${this.path}: unreadable (${describe(error)})`,
      );
      return { entries: new Map(), problem: 'unreadable' };
    }
    const loaded = parseCacheFile(text);
    if (loaded.problem) {
      this.#warnings.once(
        `file\0${loaded.problem}\0${text.length}\0${text.slice(0, 64)}`,
        `token cache file ${this.path} ${loaded.problem}; treated as empty and replaced on the next write`,
      );
    }
    return loaded;
  }

  async #write(entries: Map<string, FileEntry>): Promise<void> {
    const dir = path.dirname(this.path);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const body = `${JSON.stringify({ version: CACHE_FILE_VERSION, entries: Object.fromEntries(entries) }, null, 2)}\n`;
    const tmp = path.join(
      dir,
      `.${path.basename(this.path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
    );
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(body, 'utf8');
      await handle.sync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw error;
    }
    await handle.close();
    try {
      await rename(tmp, this.path);
    } catch (error) {
      await unlink(tmp).catch(() => undefined);
      throw error;
    }
    this.stats.writes++;
    this.#warnings.reset();
  }
}
