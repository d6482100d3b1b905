import { mkdir, open, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeTime } from '../../src/core/fake-time.js';
import { FileStore, parseCacheFile } from '../../src/stores/file.js';
import { acquireLockFile } from '../../src/stores/lock-file.js';
import { defaultTokenCachePath } from '../../src/stores/paths.js';
import { eventLog, makeRecord, tempDir, untilSleeping } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let time: FakeTime;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  time = new FakeTime();
});
afterEach(async () => {
  await cleanup();
});

function store(extra: Partial<ConstructorParameters<typeof FileStore>[0]> = {}, log = eventLog()) {
  return new FileStore({
    path: path.join(dir, 'cache', 'tokens.json'),
    key: null,
    runtime: time.runtime(),
    emit: log.emit,
    ...extra,
  });
}

describe('FileStore basics', () => {
  it('get/set/TTL/delete/delete-if-token', async () => {
    const s = store();
    expect(await s.get('k')).toBeUndefined();
    await s.set('k', makeRecord('tok-1', time.now()), 60_000);
    expect((await s.get('k'))?.token).toBe('tok-1');
    await time.advance(59_999);
    expect((await s.get('k'))?.token).toBe('tok-1');
    await time.advance(1);
    expect(await s.get('k')).toBeUndefined();

    await s.set('k', makeRecord('tok-2', time.now()), 60_000);
    await s.delete('k', 'tok-stale');
    expect((await s.get('k'))?.token).toBe('tok-2');
    await s.delete('k', 'tok-2');
    expect(await s.get('k')).toBeUndefined();
    await s.set('k', makeRecord('tok-3', time.now()), 60_000);
    await s.delete('k');
    expect(await s.get('k')).toBeUndefined();
    await s.set('k', makeRecord('tok-4', time.now()), 0);
    expect(await s.get('k')).toBeUndefined();
  });

  it('shares entries between two instances on the same file and prunes expired entries on write', async () => {
    const a = store();
    const b = store();
    await a.set('short', makeRecord('tok-short', time.now()), 1_000);
    await a.set('long', makeRecord('tok-long', time.now()), 100_000);
    expect((await b.get('long'))?.token).toBe('tok-long');
    await time.advance(5_000);
    await b.set('other', makeRecord('tok-other', time.now()), 100_000);
    const file = JSON.parse(await readFile(a.path, 'utf8'));
    expect(file.version).toBe(1);
    expect(Object.keys(file.entries).sort()).toEqual(['long', 'other']);
    expect(file.entries.long.record.token).toBe('tok-long');
    expect(file.entries.long.expiresAt).toBe(Date.UTC(2026, 0, 1) + 100_000);
  });

  it('writes the file 0600 in a 0700 directory, atomically (temp + rename, nothing left over)', async () => {
    const s = store();
    await s.set('k', makeRecord('tok-1', time.now()), 60_000);
    const first = await stat(s.path);
    expect(first.mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(s.path))).mode & 0o777).toBe(0o700);
    await s.set('k2', makeRecord('tok-2', time.now()), 60_000);
    const second = await stat(s.path);
    // A rename replaces the inode; an in-place rewrite would keep it.
    expect(second.ino).not.toBe(first.ino);
    expect(second.mode & 0o777).toBe(0o600);
    expect(await readdir(path.dirname(s.path))).toEqual(['tokens.json']);
    expect(s.stats.writes).toBe(2);
  });

  it('never writes fields other than the record (no password) and contains no password', async () => {
    const s = store();
    await s.set('k', { ...makeRecord('tok-1', time.now()), password: 'hunter2-secret' } as never, 60_000);
    const text = await readFile(s.path, 'utf8');
    expect(text).toContain('tok-1');
    expect(text).not.toContain('hunter2-secret');
  });
});

describe('FileStore corrupt or foreign files', () => {
  const cases: [string, string, RegExp][] = [
    ['bad JSON', '{"version":1,"entr', /not valid JSON/],
    ['wrong version', '{"version":7,"entries":{}}', /unknown version/],
    ['not an object', '[1,2,3]', /not a JSON object/],
    ['no entries', '{"version":1}', /no entries object/],
  ];
  for (const [name, content, problem] of cases) {
    it(`${name}: warning, treated as empty, replaced on the next write`, async () => {
      const log = eventLog();
      const s = store({}, log);
      await mkdir(path.dirname(s.path), { recursive: true });
      await writeFile(s.path, content);
      expect(await s.get('k')).toBeUndefined();
      expect(await s.get('k')).toBeUndefined();
      expect(log.warnings()).toHaveLength(1); // once, not on every read
      expect(log.warnings()[0]).toMatch(problem);
      await s.set('k', makeRecord('tok-1', time.now()), 60_000);
      expect((await s.get('k'))?.token).toBe('tok-1');
      const file = JSON.parse(await readFile(s.path, 'utf8'));
      expect(file).toMatchObject({ version: 1, entries: { k: { record: { token: 'tok-1' } } } });
    });
  }

  it('drops malformed entries and keeps the good ones', async () => {
    const parsed = parseCacheFile(
      JSON.stringify({
        version: 1,
        entries: { good: { expiresAt: 5, record: { token: 't' } }, bad: { expiresAt: 'x' }, worse: 3 },
      }),
    );
    expect([...parsed.entries.keys()]).toEqual(['good']);
    expect(parsed.problem).toMatch(/2 malformed entries/);
  });
});

describe('FileStore encryption at rest', () => {
  it('no token in clear when a key is set; wrong key or no key is a miss with a warning', async () => {
    const s = store({ key: 'file-cache-key' });
    const record = makeRecord('TOKEN-SECRET-VALUE-1', time.now(), { refreshToken: 'REFRESH-SECRET-2' });
    await s.set('k', record, 60_000);
    const text = await readFile(s.path, 'utf8');
    expect(text).not.toContain('TOKEN-SECRET');
    expect(text).not.toContain('REFRESH-SECRET');
    expect(text).not.toContain(Buffer.from('TOKEN-SECRET-VALUE-1').toString('base64'));
    expect(JSON.parse(text).entries.k.sealed).toMatch(/^v1:/);
    expect(await s.get('k')).toEqual(record);

    const wrongLog = eventLog();
    expect(await store({ key: 'another-key' }, wrongLog).get('k')).toBeUndefined();
    expect(wrongLog.warnings()[0]).toMatch(/wrong cache key or tampered/);
    const noKeyLog = eventLog();
    expect(await store({ key: null }, noKeyLog).get('k')).toBeUndefined();
    expect(noKeyLog.warnings()[0]).toMatch(/no cache key is set/);

    // An entry copied under another name fails authentication (the entry name is the AAD).
    const file = JSON.parse(text);
    file.entries.moved = file.entries.k;
    await writeFile(s.path, JSON.stringify(file));
    const movedLog = eventLog();
    expect(await store({ key: 'file-cache-key' }, movedLog).get('moved')).toBeUndefined();
    expect(movedLog.warnings()).toHaveLength(1);
  });

  it('a plain record is ignored when a key is set', async () => {
    await store({ key: null }).set('k', makeRecord('tok-plain', time.now()), 60_000);
    const log = eventLog();
    expect(await store({ key: 'now-with-key' }, log).get('k')).toBeUndefined();
    expect(log.warnings()[0]).toMatch(/not encrypted/);
  });
});

describe('FileStore locks', () => {
  it('withLock: one holder at a time in-process, and the lock file exists only while held', async () => {
    const s = store({ runtime: time.instantRuntime() });
    const other = store({ runtime: time.instantRuntime() });
    let inside = 0;
    let max = 0;
    const lockPath = s.lockPathFor('k');
    const run = (st: FileStore) =>
      st.withLock('k', async () => {
        inside++;
        max = Math.max(max, inside);
        const content = JSON.parse(await readFile(lockPath, 'utf8'));
        expect(content.pid).toBe(process.pid);
        await new Promise((r) => setImmediate(r));
        inside--;
      });
    await Promise.all([run(s), run(other), run(s), run(other), run(s)]);
    expect(max).toBe(1);
    await expect(stat(lockPath)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('waits for a held lock with backoff (injected sleep) and takes it once released', async () => {
    const log = eventLog();
    const s = store({}, log);
    const lockPath = s.lockPathFor('k');
    await mkdir(path.dirname(lockPath), { recursive: true });
    const foreign = { pid: process.pid, host: hostname(), at: time.now(), owner: 'someone-else' };
    await writeFile(lockPath, JSON.stringify(foreign));
    let ran = false;
    const pending = s.withLock('k', async () => {
      ran = true;
    });
    for (let i = 0; i < 4; i++) {
      await untilSleeping(time);
      await time.advance(100);
    }
    expect(ran).toBe(false);
    expect(time.sleeps.length).toBeGreaterThan(1);
    expect(time.sleeps[0]).toBeLessThanOrEqual(5);
    expect(log.events).toContainEqual(expect.objectContaining({ type: 'token.cache', outcome: 'wait' }));
    const { unlink } = await import('node:fs/promises');
    await unlink(lockPath);
    // It may be parked in a sleep or already retrying: advance until it has run.
    for (let i = 0; i < 5_000 && !ran; i++) {
      await time.advance(200);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await pending;
    expect(ran).toBe(true);
    expect(Math.max(...time.sleeps)).toBeLessThanOrEqual(200);
  });

  it('breaks a stale lock (older than the TTL) and a lock of a dead process', async () => {
    const s = store({ lockTtlMs: 10_000 });
    const lockPath = s.lockPathFor('k');
    await mkdir(path.dirname(lockPath), { recursive: true });
    await writeFile(
      lockPath,
      JSON.stringify({ pid: process.pid, host: hostname(), at: time.now() - 20_000, owner: 'old' }),
    );
    expect(await s.withLock('k', async () => 'stale broken')).toBe('stale broken');
    // A pid that cannot exist on this host: dead holder, broken at once.
    await writeFile(
      lockPath,
      JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), at: time.now(), owner: 'x' }),
    );
    expect(await s.withLock('k', async () => 'dead broken')).toBe('dead broken');
    expect(s.stats.brokenLocks).toBe(2);
    expect(time.sleeps).toEqual([]);
  });

  it('gives up waiting after lockWaitMs with a warning and runs anyway', async () => {
    const log = eventLog();
    const s = store({ lockWaitMs: 1_000, runtime: time.instantRuntime() }, log);
    const lockPath = s.lockPathFor('k');
    await mkdir(path.dirname(lockPath), { recursive: true });
    const handle = await open(lockPath, 'wx');
    await handle.writeFile(
      JSON.stringify({ pid: process.pid, host: hostname(), at: time.now(), owner: 'h' }),
    );
    await handle.close();
    expect(await s.withLock('k', async () => 42)).toBe(42);
    expect(log.warnings().join('\n')).toMatch(/waited 1000 ms/);
    // The foreign lock is not ours: left in place.
    expect(JSON.parse(await readFile(lockPath, 'utf8')).owner).toBe('h');
  });

  it('aborts a wait with ABORTED', async () => {
    const s = store();
    const lockPath = s.lockPathFor('k');
    await mkdir(path.dirname(lockPath), { recursive: true });
    await writeFile(
      lockPath,
      JSON.stringify({ pid: process.pid, host: hostname(), at: time.now(), owner: 'h' }),
    );
    const controller = new AbortController();
    const pending = s.withLock('k', async () => 1, { signal: controller.signal });
    await untilSleeping(time);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('lock paths that can never be taken', () => {
  /** Fails (instead of hanging the suite) when the lock loop spins without sleeping. */
  function withinSeconds<T>(work: Promise<T>, seconds = 5): Promise<T> {
    return Promise.race([
      work,
      new Promise<T>((_, reject) =>
        setTimeout(() => reject(new Error(`still spinning after ${seconds} s`)), seconds * 1000).unref(),
      ),
    ]);
  }

  const cases: [string, (lockPath: string) => Promise<void>, RegExp][] = [
    ['a dangling symlink', (p) => symlink(path.join(dir, 'nowhere', 'x'), p), /symbolic link/],
    ['a directory', (p) => mkdir(p), /is a directory/],
  ];
  for (const [name, plant, reason] of cases) {
    it(`${name}: the wait sleeps until its deadline, then fails with a clear error`, async () => {
      const lockPath = path.join(dir, 'tokens.json.lock');
      await plant(lockPath);
      const runtime = time.instantRuntime();
      const started = time.now();
      const error = await withinSeconds(
        acquireLockFile(lockPath, { runtime, staleMs: 30_000, waitMs: 60_000 }).then(
          () => undefined,
          (e: unknown) => e,
        ),
      );
      expect(error).toMatchObject({ code: 'CACHE_ERROR' });
      expect(String((error as Error).message)).toMatch(reason);
      expect(String((error as Error).message)).toContain(lockPath);
      // it waited (with sleeps) for the whole 60 s, not a tight loop
      expect(time.now() - started).toBeGreaterThanOrEqual(60_000);
      expect(time.sleeps.length).toBeGreaterThan(0);
      expect(time.sleeps.length).toBeLessThan(1_000);
    });

    it(`${name}: the file token cache warns after the lock wait and goes on`, async () => {
      const log = eventLog();
      const s = store({ lockWaitMs: 1_000, runtime: time.instantRuntime() }, log);
      const lockPath = s.lockPathFor('k');
      await mkdir(path.dirname(lockPath), { recursive: true });
      await plant(lockPath);
      expect(await withinSeconds(s.withLock('k', async () => 7))).toBe(7);
      expect(log.warnings().join('\n')).toMatch(reason);
    });
  }
});

describe('defaultTokenCachePath', () => {
  it('follows XDG on Linux, ~/Library/Caches on macOS and LOCALAPPDATA on Windows', () => {
    expect(
      defaultTokenCachePath({ env: { XDG_CACHE_HOME: '/x/cache' }, platform: 'linux', home: '/h' }),
    ).toBe('/x/cache/arcgis-etl/tokens.json');
    expect(defaultTokenCachePath({ env: {}, platform: 'linux', home: '/h' })).toBe(
      '/h/.cache/arcgis-etl/tokens.json',
    );
    expect(defaultTokenCachePath({ env: {}, platform: 'darwin', home: '/Users/u' })).toBe(
      '/Users/u/Library/Caches/arcgis-etl/tokens.json',
    );
    expect(defaultTokenCachePath({ env: { LOCALAPPDATA: 'C:\\L' }, platform: 'win32', home: 'C:\\U' })).toBe(
      'C:\\L\\arcgis-etl\\Cache\\tokens.json',
    );
    expect(new FileStore({ key: null }).path).toBe(defaultTokenCachePath());
  });
});
