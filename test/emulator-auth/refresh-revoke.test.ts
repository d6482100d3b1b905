import { afterEach, describe, expect, it } from 'vitest';
import { FakeTime } from '../../src/core/fake-time.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import {
  authorizeParams,
  CONFIDENTIAL,
  call,
  codeFor,
  countWith,
  INVALID_TOKEN,
  oauthErr,
  oauthToken,
  PUBLIC,
  pkce,
  REDIRECT,
  startAuth,
  USER,
  userTokens,
} from './helpers.js';

let emu: EmulatorHandle | undefined;
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

const INVALID_REFRESH = oauthErr(498, 'invalid_request', 'Invalid refresh_token');
const refresh = (token: string, clientId = PUBLIC.clientId) => ({
  grant_type: 'refresh_token',
  client_id: clientId,
  refresh_token: token,
});
const exchange = (token: string, redirectUri = REDIRECT) => ({
  grant_type: 'exchange_refresh_token',
  client_id: PUBLIC.clientId,
  refresh_token: token,
  redirect_uri: redirectUri,
});

describe('grant_type=refresh_token', () => {
  it('issues new access tokens until the refresh token expires (refreshTokenLifetimeSeconds, injected clock)', async () => {
    const time = new FakeTime();
    emu = await startAuth({ now: () => time.now(), refreshTokenLifetimeSeconds: 600 });
    const first = await userTokens(emu);
    const again = await oauthToken(emu, refresh(first.refresh_token));
    expect(Object.keys(again).sort()).toEqual(['access_token', 'expires_in', 'ssl', 'username']);
    expect(again).toMatchObject({ expires_in: 1800, username: USER.username, ssl: false });
    expect(again.access_token).not.toBe(first.access_token);
    expect(await countWith(emu, again.access_token as string)).toEqual({ count: 25 });
    await time.advance(599_000);
    expect((await oauthToken(emu, refresh(first.refresh_token))).access_token).toBeTruthy();
    await time.advance(1000);
    expect(await oauthToken(emu, refresh(first.refresh_token))).toEqual(INVALID_REFRESH);
    expect(emu.stats()).toMatchObject({ tokensIssued: { oauth: 3, oauthRefresh: 1 }, tokens: 4 });
  });

  it('refuses an unknown token, another client, a missing token', async () => {
    emu = await startAuth();
    const { refresh_token } = await userTokens(emu);
    expect(await oauthToken(emu, refresh('not-a-refresh-token'))).toEqual(INVALID_REFRESH);
    expect(await oauthToken(emu, refresh(refresh_token, CONFIDENTIAL.clientId))).toEqual(INVALID_REFRESH);
    expect(await oauthToken(emu, { grant_type: 'refresh_token', client_id: PUBLIC.clientId })).toEqual(
      oauthErr(400, 'invalid_request', 'refresh_token not specified'),
    );
    expect(emu.stats().tokensIssued).toMatchObject({ oauth: 1, oauthRefresh: 1 });
  });
});

describe('grant_type=exchange_refresh_token', () => {
  it('answers a new refresh token and access token; the old refresh token is revoked', async () => {
    const time = new FakeTime();
    emu = await startAuth({ now: () => time.now(), refreshTokenLifetimeSeconds: 900 });
    const first = await userTokens(emu);
    await time.advance(800_000);
    const next = await oauthToken(emu, exchange(first.refresh_token));
    expect(Object.keys(next).sort()).toEqual(
      ['access_token', 'expires_in', 'refresh_token', 'refresh_token_expires_in', 'ssl', 'username'].sort(),
    );
    expect(next).toMatchObject({ expires_in: 1800, refresh_token_expires_in: 900, username: USER.username });
    expect(next.refresh_token).not.toBe(first.refresh_token);
    expect(await oauthToken(emu, refresh(first.refresh_token))).toEqual(INVALID_REFRESH);
    expect(await oauthToken(emu, exchange(first.refresh_token))).toEqual(INVALID_REFRESH);
    // the new one lives a full lifetime from the exchange
    await time.advance(899_000);
    expect((await oauthToken(emu, refresh(next.refresh_token as string))).access_token).toBeTruthy();
    expect(emu.stats()).toMatchObject({ tokensIssued: { oauth: 3, oauthRefresh: 2 } });
  });

  it('requires a registered redirect_uri (the real wording when it is missing)', async () => {
    emu = await startAuth();
    const { refresh_token } = await userTokens(emu);
    const { redirect_uri: _r, ...noRedirect } = exchange(refresh_token);
    expect(await oauthToken(emu, noRedirect)).toEqual(
      oauthErr(400, 'invalid_request', 'redirect_uri not specified'),
    );
    expect(await oauthToken(emu, exchange(refresh_token, 'https://evil.example/'))).toEqual(
      oauthErr(400, 'invalid_request', 'Invalid redirect_uri'),
    );
    // loopback, any port
    expect(
      (await oauthToken(emu, exchange(refresh_token, 'http://127.0.0.1:40000/callback'))).refresh_token,
    ).toBeTruthy();
  });
});

describe('oauth2/revokeToken', () => {
  const revoke = (e: EmulatorHandle, form: Record<string, string>) => call(e.auth.revokeTokenUrl, { form });

  it('revokes a refresh token and the access tokens issued with it; answers success always', async () => {
    emu = await startAuth();
    const tokens = await userTokens(emu);
    const refreshed = await oauthToken(emu, refresh(tokens.refresh_token));
    const res = await revoke(emu, {
      auth_token: tokens.refresh_token,
      token_type_hint: 'refresh_token',
      client_id: PUBLIC.clientId,
      f: 'json',
    });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ success: true });
    expect(await oauthToken(emu, refresh(tokens.refresh_token))).toEqual(INVALID_REFRESH);
    expect(await countWith(emu, tokens.access_token)).toEqual(INVALID_TOKEN);
    expect(await countWith(emu, refreshed.access_token as string)).toEqual(INVALID_TOKEN);
    // unknown tokens, repeats, missing parameters: success too
    for (const form of [
      { auth_token: 'unknown-token', client_id: PUBLIC.clientId },
      { auth_token: tokens.refresh_token, client_id: PUBLIC.clientId },
      {},
    ]) {
      expect((await revoke(emu, form)).json()).toEqual({ success: true });
    }
    expect(emu.stats().requests).toMatchObject({ revokeToken: 4 });
  });

  it('revokes a single access token; not another client’s, not app or generateToken tokens', async () => {
    emu = await startAuth();
    const tokens = await userTokens(emu);
    // wrong client: nothing revoked
    await revoke(emu, { auth_token: tokens.refresh_token, client_id: CONFIDENTIAL.clientId });
    await revoke(emu, { auth_token: tokens.access_token, client_id: CONFIDENTIAL.clientId });
    expect((await oauthToken(emu, refresh(tokens.refresh_token))).access_token).toBeTruthy();
    expect(await countWith(emu, tokens.access_token)).toEqual({ count: 25 });
    // the access token alone
    await revoke(emu, {
      auth_token: tokens.access_token,
      token_type_hint: 'access_token',
      client_id: PUBLIC.clientId,
    });
    expect(await countWith(emu, tokens.access_token)).toEqual(INVALID_TOKEN);
    expect((await oauthToken(emu, refresh(tokens.refresh_token))).access_token).toBeTruthy();
    // app tokens and generateToken tokens cannot be revoked this way
    const app = await oauthToken(emu, {
      grant_type: 'client_credentials',
      client_id: CONFIDENTIAL.clientId,
      client_secret: CONFIDENTIAL.clientSecret as string,
    });
    await revoke(emu, { auth_token: app.access_token as string, client_id: CONFIDENTIAL.clientId });
    expect(await countWith(emu, app.access_token as string)).toEqual({ count: 25 });
    const generated = (await call(emu.tokenUrl, { form: { f: 'json', ...USER } })).json<{ token: string }>()
      .token;
    await revoke(emu, { auth_token: generated, client_id: PUBLIC.clientId });
    expect(await countWith(emu, generated)).toEqual({ count: 25 });
  });

  it('revokeAll() revokes refresh tokens and unused codes too', async () => {
    emu = await startAuth();
    const tokens = await userTokens(emu);
    const p = pkce();
    const code = await codeFor(emu, p);
    emu.revokeAll();
    expect(await oauthToken(emu, refresh(tokens.refresh_token))).toEqual(INVALID_REFRESH);
    const redeemed = await oauthToken(emu, {
      grant_type: 'authorization_code',
      client_id: PUBLIC.clientId,
      code,
      redirect_uri: authorizeParams(p).redirect_uri as string,
      code_verifier: p.verifier,
    });
    expect(redeemed).toEqual(oauthErr(400, 'invalid_grant', 'Invalid authorization code'));
    expect(await countWith(emu, tokens.access_token)).toEqual(INVALID_TOKEN);
  });
});
