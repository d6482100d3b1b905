/**
 * The bound on bytes buffered across concurrent responses: a response waits for room, the oldest
 * one is never blocked (no deadlock), waits are first come first served and abortable, and the
 * transport keeps its total within the bound while concurrent large answers all complete.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createByteBudget, DEFAULT_MAX_BUFFERED_BYTES } from '../../src/http/byte-budget.js';
import { createTransport } from '../../src/http/transport.js';
import { startServer, type TestServer } from './server.js';

/** Whether a promise has settled after the microtasks queued so far ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('createByteBudget', () => {
  it('defaults to 256 MiB', () => {
    expect(createByteBudget().capacity).toBe(DEFAULT_MAX_BUFFERED_BYTES);
    expect(DEFAULT_MAX_BUFFERED_BYTES).toBe(256 * 1024 * 1024);
  });

  it('a response waits for room, and gets it when another gives its bytes back', async () => {
    const budget = createByteBudget(100);
    const a = budget.lease();
    const b = budget.lease();
    await a.acquire(60);
    await b.acquire(30);
    const more = b.acquire(20); // 60 + 30 + 20 > 100, and b is not the oldest
    expect(await settled(more)).toBe(false);
    expect(budget.used).toBe(90);
    a.release();
    expect(await settled(more)).toBe(true);
    expect(budget.used).toBe(50);
    expect(b.held).toBe(50);
    b.release();
    expect(budget.used).toBe(0);
    expect(budget.peak).toBe(90);
  });

  it('the oldest open response is never blocked, so two large ones cannot deadlock', async () => {
    const budget = createByteBudget(100);
    const a = budget.lease();
    const b = budget.lease();
    await a.acquire(50);
    await b.acquire(50);
    const bMore = b.acquire(10);
    const aMore = a.acquire(80); // past the bound, but a is the oldest: it may finish
    expect(await settled(aMore)).toBe(true);
    expect(await settled(bMore)).toBe(false);
    a.release();
    expect(await settled(bMore)).toBe(true);
    expect(budget.used).toBe(60);
  });

  it('first come, first served: a small late request does not overtake a waiting one', async () => {
    const budget = createByteBudget(100);
    const a = budget.lease();
    const b = budget.lease();
    const c = budget.lease();
    await a.acquire(90);
    const bWait = b.acquire(50);
    const cWait = c.acquire(5); // would fit, but b waits before it
    expect(await settled(cWait)).toBe(false);
    a.release();
    expect(await settled(bWait)).toBe(true);
    expect(await settled(cWait)).toBe(true);
  });

  it('a wait is abortable, and a released lease gives back all it held once', async () => {
    const budget = createByteBudget(10);
    const a = budget.lease();
    const b = budget.lease();
    await a.acquire(10);
    const controller = new AbortController();
    const wait = b.acquire(5, controller.signal);
    controller.abort(new Error('deadline'));
    await expect(wait).rejects.toThrow('deadline');
    a.release();
    a.release();
    expect(budget.used).toBe(0);
  });
});

describe('the transport within its budget', () => {
  let server: TestServer | undefined;
  afterEach(() => server?.close());

  it('8 concurrent 256 KiB answers complete with a 300 KiB budget, buffering at most about that', async () => {
    const body = JSON.stringify({ data: 'x'.repeat(256 * 1024) });
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // in pieces, so several responses are in flight at once
      const pieces = body.match(/[\s\S]{1,16384}/g) ?? [];
      const next = () => {
        const piece = pieces.shift();
        if (piece === undefined) res.end();
        else res.write(piece, () => setImmediate(next));
      };
      next();
    });
    const transport = createTransport({ maxBufferedBytes: 300 * 1024 });
    try {
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          transport.request<{ data: string }>(`${server!.origin}/r${i}`, { method: 'GET' }),
        ),
      );
      for (const a of answers) expect(a.body.data.length).toBe(256 * 1024);
      // the oldest may pass the bound by what it alone needs
      expect(transport.budget.peak).toBeLessThanOrEqual(300 * 1024 + body.length);
      expect(transport.budget.used).toBe(0);
    } finally {
      await transport.close();
    }
  });
});
