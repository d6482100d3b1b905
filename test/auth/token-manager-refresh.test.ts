import { describe, expect, it } from 'vitest';
import { SHORT_LIFETIME_FRACTION } from '../../src/auth/validity.js';
import { SERVICE_URL, setup } from './helpers.js';

const MIN = 60_000;

describe('TokenManager: safety window', () => {
  it('uses the cached token until 120 s before expiry, then refreshes exactly once', async () => {
    const { time, transport, manager, events } = setup({ lifetimeMs: 60 * MIN });
    const first = await manager.getToken(SERVICE_URL);
    expect(first).toMatch(/^tok-1-/);
    expect(transport.calls).toHaveLength(1);

    // 1 ms before the threshold (expires - 120 s): still the cached token.
    await time.advance(60 * MIN - 120_000 - 1);
    for (let i = 0; i < 100; i++) expect(await manager.getToken(SERVICE_URL)).toBe(first);
    expect(transport.calls).toHaveLength(1);

    // 1 ms after: one refresh, whatever the number of callers.
    await time.advance(2);
    const after = await Promise.all(Array.from({ length: 50 }, () => manager.getToken(SERVICE_URL)));
    expect(new Set(after)).toEqual(new Set([after[0]]));
    expect(after[0]).toMatch(/^tok-2-/);
    expect(transport.calls).toHaveLength(2);
    expect(manager.stats).toMatchObject({ generated: 2, refreshed: 1, failed: 0 });
    expect(events.filter((e) => e.type === 'token.generated')).toHaveLength(1);
    const refreshed = events.find((e) => e.type === 'token.refreshed');
    expect(refreshed).toMatchObject({ reason: 'expiring', username: 'etl-bot' });
  });

  it('exactly at the threshold the token is refreshed (the edge belongs to the refresh)', async () => {
    const { time, transport, manager } = setup({ lifetimeMs: 60 * MIN });
    await manager.getToken(SERVICE_URL);
    await time.advance(60 * MIN - 120_000);
    expect(await manager.getToken(SERVICE_URL)).toMatch(/^tok-2-/);
    expect(transport.calls).toHaveLength(2);
  });

  it('honours a custom safety window', async () => {
    const { time, transport, manager } = setup({ lifetimeMs: 60 * MIN, safetyWindowMs: 10 * MIN });
    await manager.getToken(SERVICE_URL);
    await time.advance(50 * MIN - 1);
    await manager.getToken(SERVICE_URL);
    expect(transport.calls).toHaveLength(1);
    await time.advance(2);
    await manager.getToken(SERVICE_URL);
    expect(transport.calls).toHaveLength(2);
  });
});

describe('TokenManager: short-lived tokens (lifetime < 2 × window)', () => {
  // A 3-minute token with a 2-minute window: "expires - window" would be 60 s, but a
  // lifetime this short refreshes at 75% of it: 135 s.
  const lifetime = 3 * MIN;
  const threshold = Math.floor(lifetime * SHORT_LIFETIME_FRACTION);

  it('makes no extra request for 1,000 calls within the valid fraction, exactly 1 after it', async () => {
    const { time, transport, manager } = setup({ lifetimeMs: lifetime });
    await manager.getToken(SERVICE_URL);
    expect(transport.calls).toHaveLength(1);
    const start = time.now();
    const step = Math.floor((threshold - 1) / 1000);
    for (let i = 0; i < 1000; i++) {
      await time.advance(i === 999 ? threshold - 1 - step * 999 : step);
      await manager.getToken(SERVICE_URL);
    }
    expect(time.now() - start).toBe(threshold - 1);
    expect(transport.calls).toHaveLength(1);

    await time.advance(2); // 1 ms after the threshold
    const tokens = await Promise.all(Array.from({ length: 1000 }, () => manager.getToken(SERVICE_URL)));
    expect(transport.calls).toHaveLength(2);
    expect(new Set(tokens).size).toBe(1);
  });

  it('never hands out an expired short token, and does not storm after refreshing', async () => {
    const { time, transport, manager } = setup({ lifetimeMs: 30_000 }); // 30 s token, 120 s window
    for (let t = 0; t < 10 * MIN; t += 1_000) {
      const token = await manager.getToken(SERVICE_URL);
      expect(token).toBeDefined();
      await time.advance(1_000);
    }
    // One token per 22.5 s (75% of 30 s), not one per call (600 calls).
    expect(transport.calls.length).toBeGreaterThanOrEqual(24);
    expect(transport.calls.length).toBeLessThanOrEqual(28);
  });
});

describe('TokenManager: clock skew', () => {
  it('server 10 min ahead: an expired token never looks valid', async () => {
    // Without correction, expires (server clock) would look 10 min later than it is locally.
    const { time, transport, manager } = setup({ lifetimeMs: 5 * MIN, skewMs: 10 * MIN });
    await manager.getToken(SERVICE_URL);
    expect(manager.expiresAt).toBe(time.now() + 5 * MIN);
    await time.advance(5 * MIN); // expired for the server
    expect(await manager.getToken(SERVICE_URL)).toMatch(/^tok-2-/);
    expect(transport.calls).toHaveLength(2);
  });

  it('server 10 min behind: a fresh token does not look expired', async () => {
    // Without correction, expires (server clock) would already be in the local past.
    const { transport, manager, time } = setup({ lifetimeMs: 5 * MIN, skewMs: -10 * MIN });
    const first = await manager.getToken(SERVICE_URL);
    expect(manager.expiresAt).toBe(time.now() + 5 * MIN);
    for (let i = 0; i < 100; i++) expect(await manager.getToken(SERVICE_URL)).toBe(first);
    expect(transport.calls).toHaveLength(1);
  });

  it('server 10 min behind with a long token: refreshes 120 s before the real expiry, not 10 min late', async () => {
    const { time, transport, manager } = setup({ lifetimeMs: 60 * MIN, skewMs: -10 * MIN });
    await manager.getToken(SERVICE_URL);
    await time.advance(58 * MIN - 1);
    await manager.getToken(SERVICE_URL);
    expect(transport.calls).toHaveLength(1);
    await time.advance(2);
    await manager.getToken(SERVICE_URL);
    expect(transport.calls).toHaveLength(2);
  });

  it('without a Date header, trusts the local clock', async () => {
    const { time, manager } = setup({ lifetimeMs: 60 * MIN, sendDate: false });
    await manager.getToken(SERVICE_URL);
    expect(manager.expiresAt).toBe(time.now() + 60 * MIN);
  });
});
