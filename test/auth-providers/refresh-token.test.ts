/** RefreshTokenProvider against a scripted portal: refresh, exchange near the end, refusals. */
import { describe, expect, it } from 'vitest';
import { RefreshTokenProvider } from '../../src/auth/oauth-refresh-token.js';
import { oauthSessionKey, readSession, writeSession } from '../../src/auth/oauth-session.js';
import { TokenManager } from '../../src/auth/token-manager.js';
import { EtlError } from '../../src/core/errors.js';
import { FakeTime } from '../../src/core/fake-time.js';
import type { Params } from '../../src/http/types.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { FakeTransport } from '../auth/fake-transport.js';
import { rejection, Transcript, uniqueSecret } from './helpers.js';

const PORTAL = 'https://gis.example.com/portal';
const TOKEN_URL = `${PORTAL}/sharing/rest/oauth2/token`;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const REDIRECT = 'http://127.0.0.1:50123/callback';

/** A portal issuing access tokens (30 min) and, on exchange, refresh tokens (2 weeks). */
function portal(time: FakeTime) {
  let access = 0;
  let refresh = 0;
  const transport = new FakeTransport().otherwise((call) => {
    const p = call.options.params as Params;
    access++;
    const body: Record<string, unknown> = {
      access_token: `access-${access}-abcdefgh`,
      expires_in: 1800,
      username: 'ana',
    };
    if (p.grant_type === 'exchange_refresh_token') {
      refresh++;
      body.refresh_token = `refresh-new-${refresh}-${uniqueSecret('r')}`;
      body.refresh_token_expires_in = 14 * 24 * 3600;
    }
    return { body, serverDate: time.now() };
  });
  return transport;
}

async function setup(options: { lifetimeMs?: number; leftMs?: number } = {}) {
  const time = new FakeTime();
  const store = new MemoryStore({ clock: time });
  const transport = portal(time);
  const refreshToken = uniqueSecret('refresh');
  const lifetime = options.lifetimeMs ?? 14 * DAY;
  const left = options.leftMs ?? lifetime;
  await writeSession(
    store,
    {
      tokenUrl: TOKEN_URL,
      clientId: 'cli-app',
      refreshToken,
      issuedAt: time.now() - (lifetime - left),
      refreshTokenExpiresAt: time.now() + left,
      username: 'ana',
      redirectUri: REDIRECT,
    },
    time.now(),
  );
  const transcript = new Transcript();
  const provider = new RefreshTokenProvider({
    portal: PORTAL,
    clientId: 'cli-app',
    transport,
    store,
    clock: time,
  });
  const manager = new TokenManager({
    provider,
    store,
    storeKey: provider.storeKey,
    runtime: time.runtime(),
    emit: transcript.emit,
  });
  return { time, store, transport, refreshToken, provider, manager, transcript };
}

describe('RefreshTokenProvider', () => {
  it('uses the saved refresh token with grant_type=refresh_token (no password anywhere)', async () => {
    const { transport, manager, refreshToken, provider, transcript } = await setup();
    expect(await manager.getToken(`${PORTAL}/sharing/rest/portals/self`)).toBe('access-1-abcdefgh');
    expect(transport.calls).toHaveLength(1);
    expect(transport.calls[0]!.options.params).toEqual({
      grant_type: 'refresh_token',
      client_id: 'cli-app',
      refresh_token: refreshToken,
      f: 'json',
    });
    expect(provider.exchanges).toBe(0);
    transcript.expectClean(refreshToken);
  });

  it('keeps its access token apart from an app token of the same client id', async () => {
    const { provider } = await setup();
    expect(provider.storeKey).not.toBe(oauthSessionKey(TOKEN_URL, 'cli-app'));
    expect(provider.storeKey).toMatch(/^arcgis-etl:token:oauth-user:/);
  });

  it('exchanges a refresh token with less than 24 h left, and saves the new one', async () => {
    const { store, transport, manager, refreshToken, provider } = await setup({ leftMs: 20 * HOUR });
    await manager.getToken(`${PORTAL}/sharing/rest`);
    expect(transport.calls).toHaveLength(1);
    expect(transport.calls[0]!.options.params).toMatchObject({
      grant_type: 'exchange_refresh_token',
      refresh_token: refreshToken,
      redirect_uri: REDIRECT,
    });
    expect(provider.exchanges).toBe(1);
    const saved = await readSession(store, TOKEN_URL, 'cli-app');
    expect(saved?.refreshToken).toMatch(/^refresh-new-1-/);
    expect(saved?.refreshToken).not.toBe(refreshToken);
    expect(saved?.redirectUri).toBe(REDIRECT);
  });

  it('exchanges when less than 10% of the lifetime is left, even with more than 24 h to go', async () => {
    // 30 h left of 14 days: over 24 h, but under 10% (33.6 h)
    const { transport, manager } = await setup({ leftMs: 30 * HOUR });
    await manager.getToken(`${PORTAL}/sharing/rest`);
    expect(transport.calls[0]!.options.params).toMatchObject({ grant_type: 'exchange_refresh_token' });
  });

  it('does not exchange with 11 days of 14 left', async () => {
    const { transport, manager } = await setup({ leftMs: 11 * DAY });
    await manager.getToken(`${PORTAL}/sharing/rest`);
    expect(transport.calls[0]!.options.params).toMatchObject({ grant_type: 'refresh_token' });
  });

  it('the next access token after an exchange comes from the NEW refresh token', async () => {
    const { time, store, transport, manager } = await setup({ leftMs: 20 * HOUR });
    await manager.getToken(`${PORTAL}/sharing/rest`);
    const saved = await readSession(store, TOKEN_URL, 'cli-app');
    await time.advance(1800_000);
    expect(await manager.getToken(`${PORTAL}/sharing/rest`)).toBe('access-2-abcdefgh');
    expect(transport.calls[1]!.options.params).toMatchObject({
      grant_type: 'refresh_token',
      refresh_token: saved?.refreshToken,
    });
  });

  it('a refused exchange falls back to the plain refresh (the old token still works)', async () => {
    const { transport, manager } = await setup({ leftMs: 10 * HOUR });
    transport.push({
      error: new EtlError('ARCGIS_ERROR', 'Invalid redirect_uri', { arcgisCode: 400, status: 200 }),
    });
    expect(await manager.getToken(`${PORTAL}/sharing/rest`)).toBe('access-1-abcdefgh');
    expect(transport.calls.map((c) => (c.options.params as Params).grant_type)).toEqual([
      'exchange_refresh_token',
      'refresh_token',
    ]);
  });

  it('a refresh token the portal refuses (498) → BAD_CREDENTIALS, the sign-in is forgotten, no retry', async () => {
    const { store, transport, manager, refreshToken, transcript } = await setup();
    transport.otherwise({
      error: new EtlError('TOKEN_INVALID', 'ArcGIS error 498: Invalid refresh_token', {
        arcgisCode: 498,
        status: 200,
      }),
    });
    const error = await rejection(manager.getToken(`${PORTAL}/sharing/rest`), transcript);
    expect(error.code).toBe('BAD_CREDENTIALS');
    expect(error.message).toMatch(/login/);
    expect(await readSession(store, TOKEN_URL, 'cli-app')).toBeUndefined();
    expect((await rejection(manager.getToken(`${PORTAL}/sharing/rest`))).code).toBe('BAD_CREDENTIALS');
    expect(transport.calls).toHaveLength(1);
    transcript.expectClean(refreshToken);
  });

  it('without a saved sign-in: MISSING_CREDENTIALS telling to run login, no request', async () => {
    const time = new FakeTime();
    const transport = new FakeTransport();
    const provider = new RefreshTokenProvider({
      portal: PORTAL,
      clientId: 'nobody',
      transport,
      store: new MemoryStore({ clock: time }),
      clock: time,
    });
    const error = await rejection(provider.fetchToken({ reason: 'initial' }));
    expect(error.code).toBe('MISSING_CREDENTIALS');
    expect(error.message).toMatch(/arcgis-etl login/);
    expect(transport.calls).toHaveLength(0);
  });

  it('a saved sign-in past its end: MISSING_CREDENTIALS and it is removed', async () => {
    const { time, store, transport, provider } = await setup({ leftMs: HOUR });
    time.set(time.now() + 2 * HOUR);
    expect((await rejection(provider.fetchToken({ reason: 'initial' }))).code).toBe('MISSING_CREDENTIALS');
    expect(transport.calls).toHaveLength(0);
    expect(await store.get(oauthSessionKey(TOKEN_URL, 'cli-app'))).toBeUndefined();
  });

  it('can start from a given refresh token, which it then saves', async () => {
    const time = new FakeTime();
    const store = new MemoryStore({ clock: time });
    const transport = portal(time);
    const refreshToken = uniqueSecret('given');
    const provider = new RefreshTokenProvider({
      portal: PORTAL,
      clientId: 'cli-app',
      transport,
      store,
      clock: time,
      refreshToken,
    });
    await provider.fetchToken({ reason: 'initial' });
    expect((await readSession(store, TOKEN_URL, 'cli-app'))?.refreshToken).toBe(refreshToken);
  });
});
