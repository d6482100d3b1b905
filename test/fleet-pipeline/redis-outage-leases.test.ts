/**
 * Issue 17, the host budget after a Redis outage: our own redis-server (no persistence: a restart
 * loses every lease) goes away while a worker holds the only slot of a budget of 1 (its request in
 * flight), and another worker asks for a slot meanwhile. When Redis is back, the holder rechecks
 * and puts its lease back before any new lease is granted: the other worker gets the slot only
 * once the holder has released it. (The two budgets run in a child process, on the built library.)
 */
import { type ChildProcess, fork } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt } from '../fleet/helpers.js';
import { ownRedisPossible, type TestRedis, testRedis } from './redis.js';

const run = ownRedisPossible('fleet lease recheck test');

describe.runIf(run)('fleet host budget: Redis restarts empty while a lease is held', () => {
  let test: TestRedis;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    assertBuilt();
    test = await testRedis('leases', {});
  }, 30_000);
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await test?.close();
  });

  it('the holder puts its lease back before any new lease is granted: never 2 in a budget of 1', async () => {
    const heard: string[] = [];
    const waiters = new Map<string, () => void>();
    let rechecks: number | undefined;
    const hear = (type: string, timeoutMs = 15_000) =>
      heard.includes(type)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`no ${type} (heard: ${heard.join(', ')})`)),
              timeoutMs,
            );
            waiters.set(type, () => {
              clearTimeout(timer);
              resolve();
            });
          });
    child = fork(new URL('./fixtures/lease-outage.mjs', import.meta.url), {
      env: {
        PATH: process.env.PATH,
        LEASE_CONFIG: JSON.stringify({ redisUrl: test.url, prefix: test.prefix }),
      },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    child.on('message', (message: { type: string; rechecks?: number }) => {
      heard.push(message.type);
      if (message.type === 'stats') rechecks = message.rechecks;
      waiters.get(message.type)?.();
    });

    await hear('held');
    await test.server!.kill();
    child.send({ type: 'ask' }); // the other worker asks while Redis is away
    await new Promise((r) => setTimeout(r, 300));
    await test.server!.start(); // empty: the held lease is gone from Redis

    await hear('back');
    // past the fleet-wide barrier: the other worker polls and finds the slot taken again
    await new Promise((r) => setTimeout(r, 3_500));
    expect(heard).not.toContain('acquired');
    // asked now, not when the clients were seen ready: the recheck runs just after that
    child.send({ type: 'stats' });
    await hear('stats');
    expect(rechecks).toBe(1);

    child.send({ type: 'release' });
    await hear('acquired');
    expect(heard.slice(-2)).toEqual(['released', 'acquired']);
  }, 40_000);
});
