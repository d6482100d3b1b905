import { describe, expect, it } from 'vitest';
import { EtlError, isEtlError } from '../../src/core/errors.js';
import { FakeTime } from '../../src/core/fake-time.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { badCredentials, deferred } from './fake-transport.js';
import { SERVICE_URL, setup, TOKEN_URL } from './helpers.js';

describe('TokenManager: single flight', () => {
  it('10,000 concurrent getToken on a cold cache make exactly 1 token request', async () => {
    const { transport, manager } = setup();
    const gate = deferred();
    transport.gate = gate.promise;
    const all = Promise.all(Array.from({ length: 10_000 }, () => manager.getToken(SERVICE_URL)));
    await Promise.resolve();
    gate.resolve();
    const tokens = await all;
    expect(transport.calls).toHaveLength(1);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).toMatch(/^tok-1-/);
    expect(manager.stats.generated).toBe(1);
  });

  it('sends the credentials once, as a POST form body to the token URL', async () => {
    const { transport, manager } = setup();
    await manager.getToken(SERVICE_URL);
    const call = transport.calls[0]!;
    expect(call.url).toBe(TOKEN_URL);
    expect(call.options.method).toBe('POST');
    expect(call.options.params).toMatchObject({ username: 'etl-bot', f: 'json', client: 'requestip' });
    expect(call.url).not.toContain('password');
  });
});

describe('TokenManager: failed refresh', () => {
  it('rejects every waiter with the same error, is not cached, and the next call succeeds', async () => {
    const { transport, manager, events } = setup();
    const failure = new EtlError('RETRIES_EXHAUSTED', 'token endpoint kept answering 503', {
      status: 503,
      attempts: 4,
    });
    const gate = deferred();
    transport.gate = gate.promise;
    transport.push({ error: failure });
    const waiters = Array.from({ length: 100 }, () => manager.getToken(SERVICE_URL).catch((e: unknown) => e));
    gate.resolve();
    const errors = await Promise.all(waiters);
    expect(transport.calls).toHaveLength(1);
    for (const e of errors) expect(e).toBe(failure);
    expect(manager.stats.failed).toBe(1);
    expect(events.find((e) => e.type === 'token.failed')).toMatchObject({ code: 'RETRIES_EXHAUSTED' });

    transport.gate = undefined;
    const token = await manager.getToken(SERVICE_URL);
    expect(token).toMatch(/^tok-1-/);
    expect(transport.calls).toHaveLength(2);
    expect(manager.stats.generated).toBe(1);
  });

  it('a token response without expires is TOKEN_RESPONSE_INVALID and is retried on the next call', async () => {
    const { transport, manager } = setup();
    transport.push({ body: { token: 'no-expiry-token' } });
    await expect(manager.getToken(SERVICE_URL)).rejects.toMatchObject({ code: 'TOKEN_RESPONSE_INVALID' });
    await expect(manager.getToken(SERVICE_URL)).resolves.toMatch(/^tok-1-/);
  });

  it('a token already expired on arrival is refused, not used and not cached', async () => {
    const { transport, manager, time } = setup();
    transport.push({ body: { token: 'stale-token-1', expires: time.now() - 1 } });
    await expect(manager.getToken(SERVICE_URL)).rejects.toMatchObject({ code: 'TOKEN_RESPONSE_INVALID' });
    await expect(manager.getToken(SERVICE_URL)).resolves.toMatch(/^tok-1-/);
  });

  it('bad credentials: exactly 1 request, BAD_CREDENTIALS, and no further attempt', async () => {
    const { transport, manager } = setup();
    transport.push({ error: badCredentials(TOKEN_URL) });
    const results = await Promise.all(
      Array.from({ length: 20 }, () => manager.getToken(SERVICE_URL).catch((e: unknown) => e)),
    );
    for (const e of results) expect(isEtlError(e, 'BAD_CREDENTIALS')).toBe(true);
    // Later calls do not try again (each try counts towards the account lockout).
    await expect(manager.getToken(SERVICE_URL)).rejects.toMatchObject({ code: 'BAD_CREDENTIALS' });
    expect(transport.calls).toHaveLength(1);
    expect(manager.stats.failed).toBe(1);
    // …until the caller says the credentials changed.
    manager.reset();
    await expect(manager.getToken(SERVICE_URL)).resolves.toMatch(/^tok-1-/);
    expect(transport.calls).toHaveLength(2);
  });

  it('an abort signal releases one waiter without cancelling the shared refresh', async () => {
    const { transport, manager } = setup();
    const gate = deferred();
    transport.gate = gate.promise;
    const controller = new AbortController();
    const aborted = manager.getToken(SERVICE_URL, { signal: controller.signal });
    const other = manager.getToken(SERVICE_URL);
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    gate.resolve();
    await expect(other).resolves.toMatch(/^tok-1-/);
    expect(transport.calls).toHaveLength(1);
  });
});

describe('TokenManager: invalidate', () => {
  it('100 callers invalidating the same token after a 498 cause exactly 1 refresh', async () => {
    const { transport, manager, events } = setup();
    const first = (await manager.getToken(SERVICE_URL))!;
    const results = await Promise.all(
      Array.from({ length: 100 }, async () => {
        await manager.invalidate(first, '498 Invalid token');
        return manager.getToken(SERVICE_URL);
      }),
    );
    expect(transport.calls).toHaveLength(2);
    expect(new Set(results).size).toBe(1);
    expect(results[0]).toMatch(/^tok-2-/);
    expect(manager.stats).toMatchObject({ invalidated: 1, refreshed: 1, generated: 2 });
    expect(events.filter((e) => e.type === 'token.invalidated')).toHaveLength(1);
    expect(events.find((e) => e.type === 'token.refreshed')).toMatchObject({ reason: 'invalidated' });
  });

  it('invalidating an older token does nothing', async () => {
    const { transport, manager } = setup();
    const first = (await manager.getToken(SERVICE_URL))!;
    await manager.invalidate(first);
    const second = await manager.getToken(SERVICE_URL);
    await manager.invalidate(first); // a late 498 for the old token
    expect(await manager.getToken(SERVICE_URL)).toBe(second);
    expect(transport.calls).toHaveLength(2);
    expect(manager.stats.invalidated).toBe(1);
  });

  it('removes the token from the store only if the store still holds it', async () => {
    const time = new FakeTime();
    const store = new MemoryStore({ clock: time });
    const { manager } = setup({ store, time });
    const first = (await manager.getToken(SERVICE_URL))!;
    expect((await store.get(manager.storeKey))?.token).toBe(first);
    await manager.invalidate(first);
    expect(await store.get(manager.storeKey)).toBeUndefined();
    const second = (await manager.getToken(SERVICE_URL))!;
    // A late invalidation of the first token must not delete the second from the store.
    await store.delete(manager.storeKey, first);
    expect((await store.get(manager.storeKey))?.token).toBe(second);
  });
});

describe('TokenManager: scope', () => {
  it('answers undefined for a foreign origin, with no request', async () => {
    const { transport, manager } = setup();
    expect(await manager.getToken('https://evil.example.net/arcgis/rest/services')).toBeUndefined();
    expect(await manager.getToken('https://portal.example.com.evil.net/x')).toBeUndefined();
    expect(await manager.getToken('https://portal.example.com@evil.net/x')).toBeUndefined();
    expect(await manager.getToken('http://portal.example.com/x')).toBeUndefined();
    expect(await manager.getToken('https://portal.example.com:8443/x')).toBeUndefined();
    expect(await manager.getToken('not a url')).toBeUndefined();
    expect(transport.calls).toHaveLength(0);
    expect(await manager.getToken('https://PORTAL.example.com:443/server/rest/info')).toBeDefined();
  });

  it('addScope lets the token go to another origin (a federated server)', async () => {
    const { manager } = setup();
    const server = 'https://gis.example.org/server/rest/services/x/MapServer';
    expect(await manager.getToken(server)).toBeUndefined();
    manager.addScope('https://gis.example.org');
    expect(await manager.getToken(server)).toMatch(/^tok-1-/);
    expect(manager.scope).toEqual(['https://portal.example.com', 'https://gis.example.org']);
  });

  it('an explicit scope replaces the default', async () => {
    const { manager } = setup({ scope: ['https://gis.example.org/'] });
    expect(await manager.getToken(SERVICE_URL)).toBeUndefined();
    expect(await manager.getToken('https://gis.example.org/a')).toBeDefined();
  });
});
