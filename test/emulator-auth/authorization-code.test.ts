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
  redirected,
  signIn,
  startAuth,
  USER,
} from './helpers.js';

let emu: EmulatorHandle | undefined;
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

const redirectUri = authorizeParams(pkce()).redirect_uri as string;
const grant = (code: string, verifier: string, extra: Record<string, string> = {}) => ({
  grant_type: 'authorization_code',
  client_id: PUBLIC.clientId,
  code,
  redirect_uri: redirectUri,
  code_verifier: verifier,
  ...extra,
});

describe('oauth2/token grant_type=authorization_code', () => {
  it('redeems a code with the S256 verifier: every field, seconds, and tokens valid on server and portal', async () => {
    const time = new FakeTime();
    emu = await startAuth({ now: () => time.now(), refreshTokenLifetimeSeconds: 3600 });
    const p = pkce();
    const body = await oauthToken(emu, grant(await codeFor(emu, p), p.verifier));
    expect(Object.keys(body).sort()).toEqual(
      ['access_token', 'expires_in', 'refresh_token', 'refresh_token_expires_in', 'ssl', 'username'].sort(),
    );
    expect(body).toMatchObject({
      expires_in: 1800,
      refresh_token_expires_in: 3600,
      username: USER.username,
      ssl: false,
    });
    expect(body.refresh_token).not.toBe(body.access_token);
    expect(await countWith(emu, body.access_token as string)).toEqual({ count: 25 });
    const self = await call(`${emu.portalUrl}/sharing/rest/community/self?f=json`, {
      headers: { 'X-Esri-Authorization': `Bearer ${body.access_token}` },
    });
    expect(self.json()).toEqual({ username: USER.username, role: 'org_user' });
    await time.advance(1800 * 1000);
    expect(await countWith(emu, body.access_token as string)).toEqual(INVALID_TOKEN);
    expect(emu.stats()).toMatchObject({
      tokensIssued: { oauth: 1, oauthRefresh: 1 },
      tokens: 2,
      requests: { oauthAuthorize: 1, oauthToken: 1, communitySelf: 1, query: 2 },
    });
  });

  it('rejects a wrong verifier, and the code is then used up (no guessing)', async () => {
    emu = await startAuth();
    const p = pkce();
    const code = await codeFor(emu, p);
    expect(await oauthToken(emu, grant(code, pkce().verifier))).toEqual(
      oauthErr(400, 'invalid_grant', 'Invalid code_verifier'),
    );
    // the challenge itself is not the verifier (S256 is checked, not plain)
    const code2 = await codeFor(emu, p);
    expect(await oauthToken(emu, grant(code2, p.challenge))).toEqual(
      oauthErr(400, 'invalid_grant', 'Invalid code_verifier'),
    );
    expect(await oauthToken(emu, grant(code, p.verifier))).toEqual(
      oauthErr(400, 'invalid_grant', 'Invalid authorization code'),
    );
    const code3 = await codeFor(emu, p);
    const { code_verifier: _none, ...withoutVerifier } = grant(code3, p.verifier);
    expect(await oauthToken(emu, withoutVerifier)).toEqual(
      oauthErr(400, 'invalid_request', 'code_verifier not specified'),
    );
    expect((await oauthToken(emu, grant(code3, p.verifier))).access_token).toBeTruthy();
    expect(emu.stats().tokensIssued).toMatchObject({ oauth: 1, oauthRefresh: 1 });
  });

  it('is single-use: a replayed code is refused and revokes what it issued', async () => {
    emu = await startAuth();
    const p = pkce();
    const code = await codeFor(emu, p);
    const first = await oauthToken(emu, grant(code, p.verifier));
    expect(await countWith(emu, first.access_token as string)).toEqual({ count: 25 });
    expect(await oauthToken(emu, grant(code, p.verifier))).toEqual(
      oauthErr(400, 'invalid_grant', 'Invalid authorization code'),
    );
    expect(await countWith(emu, first.access_token as string)).toEqual(INVALID_TOKEN);
    expect(
      await oauthToken(emu, {
        grant_type: 'refresh_token',
        client_id: PUBLIC.clientId,
        refresh_token: first.refresh_token as string,
      }),
    ).toEqual(oauthErr(498, 'invalid_request', 'Invalid refresh_token'));
    expect(emu.stats().tokensIssued).toMatchObject({ oauth: 1, oauthRefresh: 1 });
  });

  it('checks redirect_uri, client and code expiry (10 minutes on the injected clock)', async () => {
    const time = new FakeTime();
    emu = await startAuth({ now: () => time.now() });
    const p = pkce();
    const code = await codeFor(emu, p);
    expect(await oauthToken(emu, grant(code, p.verifier, { redirect_uri: REDIRECT }))).toEqual(
      oauthErr(400, 'invalid_request', 'Invalid redirect_uri'),
    );
    const { redirect_uri: _r, ...noRedirect } = grant(code, p.verifier);
    expect(await oauthToken(emu, noRedirect)).toEqual(
      oauthErr(400, 'invalid_request', 'redirect_uri not specified'),
    );
    expect(await oauthToken(emu, grant(code, p.verifier, { client_id: CONFIDENTIAL.clientId }))).toEqual(
      oauthErr(400, 'invalid_grant', 'Invalid authorization code'),
    );
    expect(await oauthToken(emu, grant('made-up-code', p.verifier))).toEqual(
      oauthErr(400, 'invalid_grant', 'Invalid authorization code'),
    );
    const { code: _c, ...noCode } = grant(code, p.verifier);
    expect(await oauthToken(emu, noCode)).toEqual(oauthErr(400, 'invalid_request', 'code not specified'));
    await time.advance(10 * 60_000);
    expect(await oauthToken(emu, grant(code, p.verifier))).toEqual(
      oauthErr(400, 'invalid_grant', 'Invalid authorization code'),
    );
    const fresh = await codeFor(emu, p);
    await time.advance(10 * 60_000 - 1);
    expect((await oauthToken(emu, grant(fresh, p.verifier))).access_token).toBeTruthy();
    expect(emu.stats().tokensIssued).toMatchObject({ oauth: 1, oauthRefresh: 1 });
  });

  it('accepts the plain method (RFC 7636), and a confidential app without PKCE (secret checked if sent)', async () => {
    emu = await startAuth();
    const verifier = pkce().verifier;
    const plainCode = redirected(
      await signIn(
        emu,
        authorizeParams({ verifier, challenge: verifier }, { code_challenge_method: 'plain' }),
      ),
    ).searchParams.get('code') as string;
    expect((await oauthToken(emu, grant(plainCode, verifier))).access_token).toBeTruthy();

    const serverApp = { client_id: CONFIDENTIAL.clientId, response_type: 'code', redirect_uri: REDIRECT };
    const code = async () =>
      redirected(await signIn(emu as EmulatorHandle, serverApp)).searchParams.get('code') as string;
    const exchange = {
      grant_type: 'authorization_code',
      client_id: CONFIDENTIAL.clientId,
      redirect_uri: REDIRECT,
    };
    expect(await oauthToken(emu, { ...exchange, code: await code(), client_secret: 'wrong' })).toEqual(
      oauthErr(400, 'invalid_client', 'Invalid client_secret'),
    );
    expect((await oauthToken(emu, { ...exchange, code: await code() })).refresh_token).toBeTruthy();
    expect(
      (
        await oauthToken(emu, {
          ...exchange,
          code: await code(),
          client_secret: CONFIDENTIAL.clientSecret as string,
        })
      ).refresh_token,
    ).toBeTruthy();
  });

  it('caps the refresh-token lifetime by the expiration (minutes) asked at authorize', async () => {
    emu = await startAuth();
    const p = pkce();
    const body = await oauthToken(emu, grant(await codeFor(emu, p, { expiration: '60' }), p.verifier));
    expect(body.refresh_token_expires_in).toBe(3600);
    const q = pkce();
    const twoWeeks = await oauthToken(emu, grant(await codeFor(emu, q), q.verifier));
    expect(twoWeeks.refresh_token_expires_in).toBe(14 * 24 * 3600);
  });
});
