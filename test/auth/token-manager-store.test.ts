import { describe, expect, it } from 'vitest';
import { GenerateTokenProvider } from '../../src/auth/generate-token.js';
import { TokenManager } from '../../src/auth/token-manager.js';
import { EtlError } from '../../src/core/errors.js';
import type { EtlEvent } from '../../src/core/events.js';
import { FakeTime } from '../../src/core/fake-time.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { TokenRecord, TokenStore } from '../../src/stores/types.js';
import { deferred } from './fake-transport.js';
import { SERVICE_URL, setup, TOKEN_URL, tokenServer } from './helpers.js';

/** A store whose every operation fails, like a Redis that is down. */
class BrokenStore implements TokenStore {
  readonly name = 'redis';
  calls = 0;
  async get(): Promise<TokenRecord | undefined> {
    this.calls++;
    throw new EtlError('CACHE_ERROR', 'connect ECONNREFUSED 127.0.0.1:6379');
  }
  async set(): Promise<void> {
    this.calls++;
    throw new EtlError('CACHE_ERROR', 'connect ECONNREFUSED 127.0.0.1:6379');
  }
  async delete(): Promise<void> {
    this.calls++;
    throw new EtlError('CACHE_ERROR', 'connect ECONNREFUSED 127.0.0.1:6379');
  }
  async withLock<T>(): Promise<T> {
    this.calls++;
    throw new EtlError('CACHE_ERROR', 'connect ECONNREFUSED 127.0.0.1:6379');
  }
  async close(): Promise<void> {}
}

function twoManagers() {
  const time = new FakeTime();
  const store = new MemoryStore({ clock: time });
  const transport = tokenServer(time);
  const make = () =>
    new TokenManager({
      provider: new GenerateTokenProvider({
        tokenUrl: TOKEN_URL,
        username: 'etl-bot',
        password: 'pw-1234',
        transport,
      }),
      store,
      runtime: time.runtime(),
    });
  return { time, store, transport, a: make(), b: make() };
}

describe('TokenManager with a shared store', () => {
  it('derives the same key for the same credential, and the key does not contain the password', () => {
    const { a, b } = twoManagers();
    expect(a.storeKey).toBe(b.storeKey);
    expect(a.storeKey).not.toContain('pw-1234');
    expect(a.storeKey).not.toContain('etl-bot');
  });

  it('a second manager (another process) takes the token from the store: sharedHits', async () => {
    const { a, b, transport } = twoManagers();
    const tokenA = await a.getToken(SERVICE_URL);
    const tokenB = await b.getToken(SERVICE_URL);
    expect(tokenB).toBe(tokenA);
    expect(transport.calls).toHaveLength(1);
    expect(b.stats).toMatchObject({ sharedHits: 1, generated: 0 });
  });

  it('concurrent cold starts in two managers: one generates under the lock, the other reads', async () => {
    const { a, b, transport } = twoManagers();
    const gate = deferred();
    transport.gate = gate.promise;
    const all = Promise.all([
      ...Array.from({ length: 50 }, () => a.getToken(SERVICE_URL)),
      ...Array.from({ length: 50 }, () => b.getToken(SERVICE_URL)),
    ]);
    await new Promise((r) => setImmediate(r));
    gate.resolve();
    const tokens = await all;
    expect(new Set(tokens).size).toBe(1);
    expect(transport.calls).toHaveLength(1);
    expect(a.stats.generated + b.stats.generated).toBe(1);
    expect(a.stats.sharedHits + b.stats.sharedHits).toBe(1);
  });

  it('after another process refreshed, a manager in the safety window adopts its token', async () => {
    const { a, b, transport, time } = twoManagers();
    await a.getToken(SERVICE_URL);
    await b.getToken(SERVICE_URL);
    await time.advance(59 * 60_000);
    const fresh = await a.getToken(SERVICE_URL);
    expect(await b.getToken(SERVICE_URL)).toBe(fresh);
    expect(transport.calls).toHaveLength(2);
  });

  it('never takes back from the store a token it invalidated', async () => {
    const time = new FakeTime();
    // A store whose delete does nothing (another process re-wrote it, or delete was lost).
    const store = new MemoryStore({ clock: time });
    store.delete = async () => {};
    const { manager, transport } = setup({ store, time });
    const first = (await manager.getToken(SERVICE_URL))!;
    await manager.invalidate(first);
    const second = await manager.getToken(SERVICE_URL);
    expect(second).not.toBe(first);
    expect(transport.calls).toHaveLength(2);
  });

  it('falls back to the in-process cache with one warning when the store is down', async () => {
    const events: EtlEvent[] = [];
    const store = new BrokenStore();
    const { manager, transport } = setup({ store, emit: (e) => events.push(e) });
    const tokens = await Promise.all(Array.from({ length: 100 }, () => manager.getToken(SERVICE_URL)));
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).toMatch(/^tok-1-/);
    expect(transport.calls).toHaveLength(1);
    const callsAfterFirst = store.calls;
    // Cached calls do not touch the store at all.
    for (let i = 0; i < 100; i++) await manager.getToken(SERVICE_URL);
    expect(store.calls).toBe(callsAfterFirst);
    await manager.invalidate(tokens[0]!);
    expect(await manager.getToken(SERVICE_URL)).toMatch(/^tok-2-/);
    const warnings = events.filter((e) => e.type === 'warning');
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings[0]).toMatchObject({ message: expect.stringContaining('in-process cache') });
    expect(events.some((e) => e.type === 'token.cache' && e.outcome === 'error')).toBe(true);
  });

  it('a store that fails only on unlock still yields the token', async () => {
    const time = new FakeTime();
    const inner = new MemoryStore({ clock: time });
    const store: TokenStore = {
      name: 'flaky',
      get: (k) => inner.get(k),
      set: (k, r, t) => inner.set(k, r, t),
      delete: (k, t) => inner.delete(k, t),
      withLock: async (k, fn) => {
        await inner.withLock(k, fn);
        throw new EtlError('CACHE_ERROR', 'unlock failed');
      },
      close: () => inner.close(),
    };
    const { manager, transport } = setup({ store, time });
    await expect(manager.getToken(SERVICE_URL)).resolves.toMatch(/^tok-1-/);
    expect(transport.calls).toHaveLength(1);
  });
});
