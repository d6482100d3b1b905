/**
 * OAuth 2.0 against the emulator's portal: client credentials through connect(), the browser
 * sign-in with PKCE, refresh and exchange of the saved refresh token, and logout.
 */
import { describe, expect, it } from 'vitest';
import { loginWithBrowser } from '../../src/auth/oauth-login.js';
import { logout } from '../../src/auth/oauth-logout.js';
import { RefreshTokenProvider } from '../../src/auth/oauth-refresh-token.js';
import { oauthUserTokenKey, readSession } from '../../src/auth/oauth-session.js';
import { TokenManager } from '../../src/auth/token-manager.js';
import { connect } from '../../src/client/connect.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { emulatorEnv, scriptedBrowser } from './emulators.js';
import { rejection, scanFor, Transcript } from './helpers.js';

const HOUR = 3_600_000;

describe('OAuth client credentials (ARCGIS_CLIENT_ID + ARCGIS_CLIENT_SECRET)', () => {
  it('connect() with {clientId, clientSecret}: 8 concurrent queries, 1 oauth token', async () => {
    const { emu, app, layerUrl, time, transport } = await emulatorEnv();
    const t = new Transcript();
    const connection = await connect({
      url: layerUrl,
      portal: emu.portalUrl,
      credentials: app,
      transport,
      runtime: time.runtime(),
      emit: t.emit,
      logger: t.logger,
    });
    const pages = await Promise.all(
      Array.from({ length: 8 }, () =>
        connection.client.request<{ features: unknown[] }>(`${layerUrl}/query`, { where: '1=1' }),
      ),
    );
    expect(pages.every((p) => p.features.length === 10)).toBe(true);
    const stats = emu.stats();
    expect(stats.tokensIssued.oauth).toBe(1);
    expect(stats.requests.oauthToken).toBe(1);
    expect(stats.rejected.invalidToken).toBe(0);
    expect(connection.auth?.stats.generated).toBe(1);
    expect(t.events.some((e) => e.type === 'token.generated')).toBe(true);
    t.expectClean(app.clientSecret);
    await connection.close();
  });

  it('a wrong secret → BAD_CREDENTIALS after exactly one token request, secret-free', async () => {
    const { emu, app, layerUrl, time, transport } = await emulatorEnv();
    const t = new Transcript();
    const connection = await connect({
      url: layerUrl,
      portal: emu.portalUrl,
      credentials: { clientId: app.clientId, clientSecret: `${app.clientSecret}-wrong` },
      transport,
      runtime: time.runtime(),
      emit: t.emit,
    });
    const first = await rejection(connection.client.request(`${layerUrl}/query`, { where: '1=1' }), t);
    const second = await rejection(connection.client.request(`${layerUrl}/query`, { where: '1=1' }), t);
    expect(first.code).toBe('BAD_CREDENTIALS');
    expect(second.code).toBe('BAD_CREDENTIALS');
    expect(emu.stats().requests.oauthToken).toBe(1);
    expect(emu.stats().tokensIssued.oauth ?? 0).toBe(0);
    t.expectClean(app.clientSecret, `${app.clientSecret}-wrong`);
    await connection.close();
  });

  it('an expiring app token is renewed once, ahead of time (expires_in in seconds)', async () => {
    const { emu, app, layerUrl, time, transport } = await emulatorEnv({
      apps: [{ clientId: 'short', clientSecret: 'short-lived-secret-1', redirectUris: [], tokenMinutes: 10 }],
    });
    void app;
    const connection = await connect({
      url: layerUrl,
      portal: emu.portalUrl,
      credentials: { clientId: 'short', clientSecret: 'short-lived-secret-1' },
      expirationMinutes: 10,
      transport,
      runtime: time.runtime(),
    });
    await connection.client.request(`${layerUrl}/query`, { where: '1=1' });
    expect(connection.auth?.expiresAt).toBeGreaterThanOrEqual(time.now() + 10 * 60_000 - 2_000);
    expect(connection.auth?.expiresAt).toBeLessThanOrEqual(time.now() + 10 * 60_000);
    await time.advance(9 * 60_000);
    await Promise.all([1, 2, 3].map(() => connection.client.request(`${layerUrl}/query`, { where: '1=1' })));
    expect(emu.stats().tokensIssued.oauth).toBe(2);
    expect(emu.stats().rejected.invalidToken).toBe(0);
    await connection.close();
  });
});

describe('OAuth sign-in (authorization code + PKCE, loopback redirect)', () => {
  async function signIn(
    env: Awaited<ReturnType<typeof emulatorEnv>>,
    store = new MemoryStore({ clock: env.time }),
  ) {
    const visits: Awaited<ReturnType<typeof scriptedBrowser>>[] = [];
    const result = await loginWithBrowser({
      portal: env.emu.portalUrl,
      clientId: env.cliApp.clientId,
      transport: env.transport,
      store,
      runtime: env.time.runtime(),
      openBrowser: async (url) => {
        visits.push(await scriptedBrowser(url, env.user));
      },
    });
    return { result, store, visits };
  }

  it('signs in end to end with a scripted browser and saves the refresh token', async () => {
    const env = await emulatorEnv();
    const { result, store, visits } = await signIn(env);
    expect(visits[0]).toMatchObject({ page: 200, submit: 302, callback: 200 });
    expect(new URL(visits[0]!.location!).origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(result.username).toBe(env.user.username);
    expect(result.redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    const stats = env.emu.stats();
    expect(stats.requests.oauthAuthorize).toBe(2);
    expect(stats.tokensIssued.oauthRefresh).toBe(1);
    expect(stats.tokensIssued.oauth).toBe(1);
    const tokenUrl = env.emu.auth.oauthTokenUrl;
    const session = await readSession(store, tokenUrl, env.cliApp.clientId);
    expect(session?.username).toBe(env.user.username);
    expect(session?.refreshTokenExpiresAt).toBe(env.time.now() + 14 * 24 * HOUR);
    const access = await store.get(oauthUserTokenKey(tokenUrl, env.cliApp.clientId));
    expect(access?.kind).toBe('oauth-refresh-token');
    // neither the refresh token nor the access token may show up in any event, log or error
    scanFor(session?.refreshToken);
    scanFor(access?.token);
  });

  it('later runs sign in from the cache without a password: cached access token, then refresh_token', async () => {
    const env = await emulatorEnv();
    const { store } = await signIn(env);
    const t = new Transcript();
    const connection = await connect({
      url: env.layerUrl,
      portal: env.emu.portalUrl,
      credentials: { clientId: env.cliApp.clientId },
      tokenCache: store,
      transport: env.transport,
      runtime: env.time.runtime(),
      emit: t.emit,
    });
    await connection.client.request(`${env.layerUrl}/query`, { where: '1=1' });
    expect(env.emu.stats().tokensIssued.oauth).toBe(1); // the access token saved by login
    expect(connection.auth?.stats.sharedHits).toBe(1);
    await env.time.advance(31 * 60_000); // user tokens live 30 min
    await Promise.all(
      [1, 2, 3].map(() => connection.client.request(`${env.layerUrl}/query`, { where: '1=1' })),
    );
    const stats = env.emu.stats();
    expect(stats.tokensIssued.oauth).toBe(2);
    expect(stats.tokensIssued.oauthRefresh).toBe(1);
    expect(stats.requests.oauthToken).toBe(2);
    const session = await readSession(store, env.emu.auth.oauthTokenUrl, env.cliApp.clientId);
    t.expectClean(env.user.password, session?.refreshToken);
    await connection.close();
  });

  it('a refresh token near its end is exchanged at the portal, and the new one is saved', async () => {
    const env = await emulatorEnv({ refreshTokenLifetimeSeconds: 2 * 24 * 3600 });
    const { store } = await signIn(env);
    const tokenUrl = env.emu.auth.oauthTokenUrl;
    const before = await readSession(store, tokenUrl, env.cliApp.clientId);
    expect(before?.refreshTokenExpiresAt).toBe(env.time.now() + 2 * 24 * HOUR);
    await env.time.advance(30 * HOUR); // 18 h left: under 24 h
    const provider = new RefreshTokenProvider({
      portal: env.emu.portalUrl,
      clientId: env.cliApp.clientId,
      transport: env.transport,
      store,
      clock: env.time,
    });
    const manager = new TokenManager({
      provider,
      store,
      storeKey: provider.storeKey,
      runtime: env.time.runtime(),
    });
    expect(await manager.getToken(env.layerUrl)).toBeDefined();
    const stats = env.emu.stats();
    expect(provider.exchanges).toBe(1);
    expect(stats.tokensIssued.oauthRefresh).toBe(2);
    const after = await readSession(store, tokenUrl, env.cliApp.clientId);
    expect(after?.refreshToken).not.toBe(before?.refreshToken);
    expect(after?.refreshTokenExpiresAt).toBe(env.time.now() + 2 * 24 * HOUR);
    // the old refresh token was revoked by the exchange; the new one works
    const old = new RefreshTokenProvider({
      portal: env.emu.portalUrl,
      clientId: env.cliApp.clientId,
      transport: env.transport,
      store: new MemoryStore({ clock: env.time }),
      clock: env.time,
      refreshToken: before!.refreshToken,
    });
    expect((await rejection(old.fetchToken({ reason: 'initial' }))).code).toBe('BAD_CREDENTIALS');
  });

  it('logout revokes the refresh token at the portal and clears the cache', async () => {
    const env = await emulatorEnv();
    const { store } = await signIn(env);
    const tokenUrl = env.emu.auth.oauthTokenUrl;
    const saved = await readSession(store, tokenUrl, env.cliApp.clientId);
    const result = await logout({
      portal: env.emu.portalUrl,
      clientId: env.cliApp.clientId,
      transport: env.transport,
      store,
    });
    expect(result).toEqual({ hadSession: true, revoked: true, username: env.user.username });
    expect(env.emu.stats().requests.revokeToken).toBe(1);
    expect(await readSession(store, tokenUrl, env.cliApp.clientId)).toBeUndefined();
    expect(await store.get(oauthUserTokenKey(tokenUrl, env.cliApp.clientId))).toBeUndefined();
    // the revoked refresh token is refused by the portal
    const stale = new RefreshTokenProvider({
      portal: env.emu.portalUrl,
      clientId: env.cliApp.clientId,
      transport: env.transport,
      store: new MemoryStore({ clock: env.time }),
      clock: env.time,
      refreshToken: saved!.refreshToken,
    });
    const t = new Transcript();
    const error = await rejection(stale.fetchToken({ reason: 'initial' }), t);
    expect(error.code).toBe('BAD_CREDENTIALS');
    t.expectClean(saved!.refreshToken);
    // a second logout has nothing to revoke
    const again = await logout({
      portal: env.emu.portalUrl,
      clientId: env.cliApp.clientId,
      transport: env.transport,
      store,
    });
    expect(again.hadSession).toBe(false);
    expect(env.emu.stats().requests.revokeToken).toBe(1);
  });

  it('a wrong password in the browser: no code, the login times out (fake clock), bad login counted', async () => {
    const env = await emulatorEnv();
    let visit: Awaited<ReturnType<typeof scriptedBrowser>> | undefined;
    const login = loginWithBrowser({
      portal: env.emu.portalUrl,
      clientId: env.cliApp.clientId,
      transport: env.transport,
      store: new MemoryStore({ clock: env.time }),
      runtime: env.time.runtime(),
      timeoutMs: 60_000,
      openBrowser: async (url) => {
        visit = await scriptedBrowser(url, { username: env.user.username, password: 'not-the-password' });
      },
    });
    const outcome = rejection(login);
    while (visit === undefined) await env.time.advance(0);
    expect(visit.submit).toBe(200); // the form again, with an error
    await env.time.advance(60_000);
    expect((await outcome).code).toBe('TIMEOUT');
    expect(env.emu.stats().badLogins).toBe(1);
    expect(env.emu.stats().tokensIssued.oauth ?? 0).toBe(0);
  });

  it('a callback with the wrong state is refused (CSRF)', async () => {
    const env = await emulatorEnv();
    const error = await rejection(
      loginWithBrowser({
        portal: env.emu.portalUrl,
        clientId: env.cliApp.clientId,
        transport: env.transport,
        store: new MemoryStore({ clock: env.time }),
        runtime: env.time.runtime(),
        openBrowser: async (url) => {
          const redirect = new URL(new URL(url).searchParams.get('redirect_uri')!);
          redirect.searchParams.set('code', 'forged-code');
          redirect.searchParams.set('state', 'forged-state');
          await (await fetch(redirect)).text();
        },
      }),
    );
    expect(error.code).toBe('BAD_CREDENTIALS');
    expect(error.message).toMatch(/state/);
    expect(env.emu.stats().requests.oauthToken ?? 0).toBe(0);
  });
});
