import { describe, expect, it } from 'vitest';
import { StaticTokenProvider } from '../../src/auth/static-token.js';
import { TokenManager } from '../../src/auth/token-manager.js';
import { EtlError } from '../../src/core/errors.js';
import type { EtlEvent } from '../../src/core/events.js';
import { FakeTime } from '../../src/core/fake-time.js';
import type { TokenRecord, TokenStore } from '../../src/stores/types.js';

const KEY = 'AAPK-static-key-unique-0001';

describe('StaticTokenProvider + TokenManager', () => {
  it('is sent only to its origins, never refreshed, and STATIC_TOKEN_INVALID after a 498', async () => {
    const events: EtlEvent[] = [];
    const provider = new StaticTokenProvider({ token: KEY, scope: ['https://services.example.com/x'] });
    const manager = new TokenManager({
      provider,
      emit: (e) => events.push(e),
      runtime: { clock: new FakeTime() },
    });
    expect(manager.canRefresh).toBe(false);
    expect(await manager.getToken('https://services.example.com/arcgis/rest/services')).toBe(KEY);
    expect(await manager.getToken('https://other.example.com/arcgis/rest/services')).toBeUndefined();
    await manager.invalidate(KEY, '498 Invalid token');
    const error = await manager.getToken('https://services.example.com/a').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EtlError);
    expect(error).toMatchObject({
      code: 'STATIC_TOKEN_INVALID',
      message: expect.stringMatching(/invalid or expired/),
    });
    expect(String((error as Error).message)).not.toContain(KEY);
    expect(await manager.getToken('https://other.example.com/a')).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual(['token.static', 'token.invalidated']);
    expect(events[0]).toEqual({ type: 'token.static', kind: 'static' });
    expect(manager.stats.generated).toBe(0);
    expect(manager.expiresAt).toBeUndefined();
    expect(JSON.stringify(events)).not.toContain(KEY);
  });

  it('does not write a static token into a shared store', async () => {
    const writes: TokenRecord[] = [];
    const store: TokenStore = {
      name: 'spy',
      get: async () => undefined,
      set: async (_k, r) => {
        writes.push(r);
      },
      delete: async () => {},
      withLock: (_k, fn) => fn(),
      close: async () => {},
    };
    const provider = new StaticTokenProvider({ token: KEY, scope: ['https://a.example.com'] });
    const manager = new TokenManager({ provider, store });
    expect(await manager.getToken('https://a.example.com/x')).toBe(KEY);
    expect(writes).toHaveLength(0);
  });

  it('a static token with a known expiry is used until then, then reported invalid', async () => {
    const time = new FakeTime();
    const provider = new StaticTokenProvider({
      token: KEY,
      scope: ['https://a.example.com'],
      expires: time.now() + 60_000,
    });
    const manager = new TokenManager({ provider, runtime: { clock: time } });
    expect(await manager.getToken('https://a.example.com/x')).toBe(KEY);
    await time.advance(59_999);
    expect(await manager.getToken('https://a.example.com/x')).toBe(KEY);
    await time.advance(1);
    await expect(manager.getToken('https://a.example.com/x')).rejects.toMatchObject({
      code: 'STATIC_TOKEN_INVALID',
    });
  });

  it('fromEnv reads ARCGIS_TOKEN, else ARCGIS_API_KEY', () => {
    const scope = ['https://a.example.com'];
    expect(StaticTokenProvider.fromEnv({}, scope)).toBeUndefined();
    expect(StaticTokenProvider.fromEnv({ ARCGIS_API_KEY: 'key-1234' }, scope)?.kind).toBe('api-key');
    const both = StaticTokenProvider.fromEnv({ ARCGIS_TOKEN: 'tok-1234', ARCGIS_API_KEY: 'key-1234' }, scope);
    expect(both?.kind).toBe('static');
    expect(both?.refreshable).toBe(false);
  });

  it('needs a token and at least one origin', () => {
    expect(() => new StaticTokenProvider({ token: '', scope: ['https://a.example.com'] })).toThrow(
      expect.objectContaining({ code: 'MISSING_CREDENTIALS' }),
    );
    expect(() => new StaticTokenProvider({ token: KEY, scope: [] })).toThrow(
      expect.objectContaining({ code: 'USAGE' }),
    );
  });
});
