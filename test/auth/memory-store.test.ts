import { describe, expect, it } from 'vitest';
import { FakeTime } from '../../src/core/fake-time.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { TokenRecord } from '../../src/stores/types.js';

const record = (token: string): TokenRecord => ({
  token,
  expiresAt: 0,
  issuedAt: 0,
  tokenUrl: 'https://h/sharing/rest/generateToken',
  scope: 'https://h',
  kind: 'generateToken',
});

describe('MemoryStore', () => {
  it('expires entries by the injected clock', async () => {
    const time = new FakeTime();
    const store = new MemoryStore({ clock: time });
    await store.set('k', record('a-token'), 1000);
    await time.advance(999);
    expect((await store.get('k'))?.token).toBe('a-token');
    await time.advance(1);
    expect(await store.get('k')).toBeUndefined();
    await store.set('k', record('b-token'), 0);
    expect(await store.get('k')).toBeUndefined();
  });

  it('returns copies (callers cannot mutate the cache)', async () => {
    const store = new MemoryStore();
    await store.set('k', record('a-token'), 60_000);
    const got = (await store.get('k'))!;
    got.token = 'changed';
    expect((await store.get('k'))?.token).toBe('a-token');
  });

  it('delete with ifToken only deletes that token', async () => {
    const store = new MemoryStore();
    await store.set('k', record('new-token'), 60_000);
    await store.delete('k', 'old-token');
    expect((await store.get('k'))?.token).toBe('new-token');
    await store.delete('k', 'new-token');
    expect(await store.get('k')).toBeUndefined();
  });

  it('withLock runs one holder at a time per key, in order, and keys do not block each other', async () => {
    const store = new MemoryStore();
    const log: string[] = [];
    let active = 0;
    let maxActive = 0;
    const task = (key: string, name: string) =>
      store.withLock(key, async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        log.push(`start ${name}`);
        await new Promise((r) => setImmediate(r));
        log.push(`end ${name}`);
        active--;
        return name;
      });
    const results = await Promise.all([task('a', '1'), task('a', '2'), task('a', '3')]);
    expect(results).toEqual(['1', '2', '3']);
    expect(maxActive).toBe(1);
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);

    let otherRan = false;
    const hold = store.withLock('a', () => new Promise<void>((r) => setTimeout(r, 20)));
    await store.withLock('b', async () => {
      otherRan = true;
    });
    expect(otherRan).toBe(true);
    await hold;
  });

  it('a holder that throws releases the lock', async () => {
    const store = new MemoryStore();
    await expect(store.withLock('k', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(store.withLock('k', async () => 'next')).resolves.toBe('next');
  });

  it('waitMs gives up with CACHE_ERROR, without breaking the queue', async () => {
    const time = new FakeTime();
    const store = new MemoryStore({ clock: time, sleep: time.sleep });
    let release!: () => void;
    const holder = store.withLock('k', () => new Promise<void>((r) => (release = r)));
    const waiter = store.withLock('k', async () => 'late', { waitMs: 5000 }).catch((e: unknown) => e);
    const third = store.withLock('k', async () => 'third');
    await time.advance(4999);
    expect(time.pendingSleeps).toBe(1);
    await time.advance(1);
    expect(await waiter).toMatchObject({ code: 'CACHE_ERROR' });
    release();
    await holder;
    await expect(third).resolves.toBe('third');
  });

  it('an aborted wait rejects with ABORTED', async () => {
    const store = new MemoryStore();
    let release!: () => void;
    const holder = store.withLock('k', () => new Promise<void>((r) => (release = r)));
    const controller = new AbortController();
    const waiter = store.withLock('k', async () => 'never', { signal: controller.signal });
    controller.abort();
    await expect(waiter).rejects.toMatchObject({ code: 'ABORTED' });
    release();
    await holder;
    await expect(store.withLock('k', async () => 'ok')).resolves.toBe('ok');
  });
});
