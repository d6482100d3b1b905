import { afterEach, describe, expect, it } from 'vitest';
import { FakeTime } from '../../src/core/fake-time.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import {
  CONFIDENTIAL,
  call,
  countWith,
  INVALID_TOKEN,
  oauthErr,
  oauthToken,
  PUBLIC,
  startAuth,
} from './helpers.js';

let emu: EmulatorHandle | undefined;
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

const creds = { grant_type: 'client_credentials', client_id: CONFIDENTIAL.clientId };

describe('oauth2/token grant_type=client_credentials', () => {
  it('answers access_token and expires_in in SECONDS (expiration is in minutes), counted as oauth', async () => {
    const time = new FakeTime();
    emu = await startAuth({ now: () => time.now() });
    const body = await oauthToken(emu, {
      ...creds,
      client_secret: CONFIDENTIAL.clientSecret as string,
      expiration: '90',
    });
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in']);
    expect(body.expires_in).toBe(90 * 60);
    expect(body.access_token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    // valid on the server (one trust domain) and on the portal
    expect(await countWith(emu, body.access_token as string)).toEqual({ count: 25 });
    const self = await call(`${emu.portalUrl}/sharing/rest/portals/self?f=json&token=${body.access_token}`);
    expect(self.json()).toMatchObject({ appInfo: { appId: CONFIDENTIAL.clientId } });
    // expires on the injected clock
    await time.advance(90 * 60_000);
    expect(await countWith(emu, body.access_token as string)).toEqual(INVALID_TOKEN);
    expect(emu.stats()).toMatchObject({
      tokensIssued: { oauth: 1, oauthRefresh: 0, server: 0, portal: 0, legacy: 0 },
      tokens: 1,
      requests: { oauthToken: 1, query: 2, portalSelf: 1 },
      rejected: { invalidToken: 1, tokenRequired: 0 },
    });
  });

  it('defaults to 120 minutes (or the app tokenMinutes), caps at two weeks; tokenLifetimeSeconds wins', async () => {
    emu = await startAuth({ apps: [CONFIDENTIAL, { ...CONFIDENTIAL, clientId: 'short', tokenMinutes: 5 }] });
    const secret = CONFIDENTIAL.clientSecret as string;
    expect((await oauthToken(emu, { ...creds, client_secret: secret })).expires_in).toBe(7200);
    expect(
      (await oauthToken(emu, { ...creds, client_secret: secret, expiration: '999999' })).expires_in,
    ).toBe(20_160 * 60);
    expect((await oauthToken(emu, { ...creds, client_id: 'short', client_secret: secret })).expires_in).toBe(
      300,
    );
    await emu.stop();
    emu = await startAuth({ tokenLifetimeSeconds: 7 });
    expect((await oauthToken(emu, { ...creds, client_secret: secret, expiration: '60' })).expires_in).toBe(7);
  });

  it('refuses a wrong or missing secret, an unknown or missing client_id, a public app, an unknown grant', async () => {
    emu = await startAuth();
    expect(await oauthToken(emu, { ...creds, client_secret: 'wrong' })).toEqual(
      oauthErr(400, 'invalid_client', 'Invalid client_secret'),
    );
    expect(await oauthToken(emu, { ...creds })).toEqual(
      oauthErr(400, 'invalid_request', 'client_secret not specified'),
    );
    expect(await oauthToken(emu, { ...creds, client_id: 'nope', client_secret: 'x' })).toEqual(
      oauthErr(400, 'invalid_request', 'Invalid client_id'),
    );
    expect(await oauthToken(emu, { grant_type: 'client_credentials', client_secret: 'x' })).toEqual(
      oauthErr(400, 'invalid_request', 'client_id not specified'),
    );
    expect(
      await oauthToken(emu, { ...creds, client_id: PUBLIC.clientId, client_secret: 'anything' }),
    ).toEqual(oauthErr(400, 'invalid_client', 'Invalid client_secret'));
    expect(await oauthToken(emu, { client_id: CONFIDENTIAL.clientId })).toEqual(
      oauthErr(400, 'invalid_request', 'grant_type not specified'),
    );
    expect(await oauthToken(emu, { ...creds, grant_type: 'password' })).toEqual(
      oauthErr(400, 'unsupported_grant_type', 'Unsupported grant_type'),
    );
    expect(emu.stats()).toMatchObject({ tokensIssued: { oauth: 0 }, tokens: 0, requests: { oauthToken: 7 } });
  });

  it('refuses GET (secrets never in a query string)', async () => {
    emu = await startAuth();
    const qs = new URLSearchParams({ ...creds, client_secret: CONFIDENTIAL.clientSecret as string });
    const res = await call(`${emu.auth.oauthTokenUrl}?${qs}`);
    expect(res.status).toBe(200);
    expect(res.json()).toEqual(oauthErr(405, 'invalid_request', 'Method not supported'));
    expect(emu.stats().tokens).toBe(0);
  });

  it('serves the token route with a trailing slash too (as @esri/arcgis-rest-request calls it)', async () => {
    emu = await startAuth();
    const res = await call(`${emu.auth.oauthTokenUrl}/`, {
      form: { ...creds, client_secret: CONFIDENTIAL.clientSecret as string, f: 'json' },
    });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toHaveProperty('access_token');
  });
});
