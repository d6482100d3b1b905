import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/stores/redis.js';
import { eventLog, makeRecord } from './helpers.js';

describe('RedisStore against a server that never answers', () => {
  it('falls back locally within the short timeouts, with one warning, and closes cleanly', async () => {
    const sockets: Socket[] = [];
    const server = createServer((socket) => {
      sockets.push(socket); // accept, read, never answer
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const log = eventLog();
    const store = new RedisStore({
      url: `redis://127.0.0.1:${address.port}`,
      key: null,
      emit: log.emit,
      connectTimeoutMs: 300,
      commandTimeoutMs: 300,
      reconnectMaxDelayMs: 100,
    });
    try {
      const started = Date.now();
      await store.set('k', makeRecord('tok-1', Date.now()), 60_000);
      expect((await store.get('k'))?.token).toBe('tok-1');
      expect(await store.withLock('k', async () => 'ok')).toBe('ok');
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(store.mode).toBe('local');
      expect(log.warnings()).toHaveLength(1);
    } finally {
      await store.close();
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });
});
