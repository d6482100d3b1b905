import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import { FileStore } from '../../src/stores/file.js';
import { createTokenStore } from '../../src/stores/index.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { defaultTokenCachePath } from '../../src/stores/paths.js';
import { RedisStore } from '../../src/stores/redis.js';

describe('createTokenStore', () => {
  it('defaults to memory', async () => {
    expect(createTokenStore(undefined)).toBeInstanceOf(MemoryStore);
    expect(createTokenStore('')).toBeInstanceOf(MemoryStore);
    expect(createTokenStore('memory').name).toBe('memory');
  });

  it('file and file:PATH', () => {
    const byDefault = createTokenStore('file', { key: null });
    expect(byDefault).toBeInstanceOf(FileStore);
    expect((byDefault as FileStore).path).toBe(defaultTokenCachePath());
    const custom = createTokenStore('file:relative/dir/tokens.json', { key: null }) as FileStore;
    expect(custom.path).toBe(path.resolve('relative/dir/tokens.json'));
    expect(custom.encrypted).toBe(false);
    expect((createTokenStore('file:x.json', { key: 'k' }) as FileStore).encrypted).toBe(true);
  });

  it('redis URLs, and `redis` with REDIS_URL (no connection is made until used)', async () => {
    const store = createTokenStore('redis://user:pa55word@127.0.0.1:1/2', { key: null, prefix: 'p:' });
    expect(store).toBeInstanceOf(RedisStore);
    expect((store as RedisStore).displayUrl).not.toContain('pa55word');
    expect((store as RedisStore).tokenKey('k')).toBe('p:token:k');
    await store.close();
    const fromEnv = createTokenStore('redis', {
      key: null,
      env: { REDIS_URL: 'rediss://cache.example.com:6380/0' },
    });
    expect((fromEnv as RedisStore).displayUrl).toBe('rediss://cache.example.com:6380/0');
    await fromEnv.close();
    expect(() => createTokenStore('redis', { env: {} })).toThrow(/REDIS_URL/);
  });

  it('anything else is a USAGE error that does not echo credentials', () => {
    for (const spec of ['memcached://x', 'file:', 'postgres://u:hunter2secret@db/x', 'redis:/nope']) {
      let caught: unknown;
      try {
        createTokenStore(spec);
      } catch (error) {
        caught = error;
      }
      expect(isEtlError(caught, 'USAGE')).toBe(true);
      expect(String((caught as Error).message)).not.toContain('hunter2secret');
    }
  });
});
