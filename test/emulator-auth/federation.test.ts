import { afterEach, describe, expect, it } from 'vitest';
import { FakeTime } from '../../src/core/fake-time.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { call, countWith, INVALID_TOKEN, startAuth, USER, userTokens } from './helpers.js';

const started: EmulatorHandle[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((e) => e.stop()));
});

async function start(options: Parameters<typeof startAuth>[0] = {}): Promise<EmulatorHandle> {
  const emu = await startAuth(options);
  started.push(emu);
  return emu;
}

const APP = 'https://etl.example';
const bound = { client: 'referer', referer: APP };
const withReferer = { referer: APP };

async function portalToken(emu: EmulatorHandle, extra: Record<string, string> = bound): Promise<string> {
  const res = await call(`${emu.portalUrl}/sharing/rest/generateToken`, {
    form: { f: 'json', ...USER, ...extra },
  });
  const token = res.json<{ token?: string }>().token;
  if (!token) throw new Error(res.text);
  return token;
}

async function exchange(
  emu: EmulatorHandle,
  token: string,
  serverUrl: string,
  extra: Record<string, string> = bound,
  headers: Record<string, string> = withReferer,
) {
  const res = await call(`${emu.portalUrl}/sharing/rest/generateToken`, {
    form: { f: 'json', token, serverUrl, ...extra },
    headers,
  });
  return res.json<{ token?: string; expires?: number; ssl?: boolean; error?: { code: number } }>();
}

describe('federation (portal + a server that trusts it)', () => {
  it('rest/info names the portal as owningSystemUrl and its generateToken as the token service', async () => {
    const emu = await start({ federation: { enabled: true } });
    const info = (await call(`${emu.restUrl}/info?f=json`)).json();
    expect(info).toMatchObject({
      currentVersion: 11.1,
      owningSystemUrl: emu.portalUrl,
      authInfo: {
        isTokenBasedSecurity: true,
        tokenServicesUrl: `${emu.portalUrl}/sharing/rest/generateToken`,
      },
    });
    expect(emu.tokenUrl).toBe(`${emu.portalUrl}/sharing/rest/generateToken`);
    expect(emu.auth.owningSystemUrl).toBe(emu.portalUrl);
    // not federated: no owningSystemUrl
    const plain = await start();
    expect((await call(`${plain.restUrl}/info?f=json`)).json()).not.toHaveProperty('owningSystemUrl');
    expect(plain.auth.owningSystemUrl).toBeUndefined();
  });

  it('exchanges a portal token for a server token; the server accepts only that one', async () => {
    const emu = await start({ federation: { enabled: true } });
    const pt = await portalToken(emu);
    const st = await exchange(emu, pt, emu.url);
    expect(Object.keys(st).sort()).toEqual(['expires', 'ssl', 'token']);
    expect(await countWith(emu, st.token as string, 'Parcels', withReferer)).toEqual({ count: 25 });
    // the portal token sent directly to the server: 498 (even on a public layer)
    expect(await countWith(emu, pt, 'Parcels', withReferer)).toEqual(INVALID_TOKEN);
    expect(await countWith(emu, pt, 'Public', withReferer)).toEqual(INVALID_TOKEN);
    // the server token at the portal: 498 (exchange and portals/self)
    expect(await exchange(emu, st.token as string, emu.url)).toEqual(INVALID_TOKEN);
    const self = await call(`${emu.portalUrl}/sharing/rest/portals/self?f=json&token=${st.token}`, {
      headers: withReferer,
    });
    expect(self.json()).toEqual(INVALID_TOKEN);
    // the server's own token service is not used any more
    const own = await call(`${emu.url}/tokens/generateToken`, { form: { f: 'json', ...USER } });
    expect(own.json()).toMatchObject({ error: { code: 400, message: 'Unable to generate token.' } });
    const legacy = await call(
      `${emu.url}/tokens?request=getToken&username=${USER.username}&password=${USER.password}`,
    );
    expect(legacy.json()).toMatchObject({ error: { code: 400 } });
    expect(emu.stats()).toMatchObject({
      tokensIssued: { portal: 1, federated: 1, server: 0, legacy: 0 },
      tokens: 2,
      rejected: { invalidToken: 4, tokenRequired: 0 },
      requests: { portalGenerateToken: 3, query: 3, portalSelf: 1, generateToken: 1, tokens: 1 },
    });
  });

  it('binds the server token to the serverUrl (any spelling of the root) and to its referer', async () => {
    const emu = await start({ federation: { enabled: true } });
    const pt = await portalToken(emu);
    for (const serverUrl of [
      `${emu.url}/`,
      `${emu.restUrl}/services`,
      emu.url.toUpperCase().replace('HTTP', 'http'),
    ]) {
      const st = await exchange(emu, pt, serverUrl);
      expect(await countWith(emu, st.token as string, 'Parcels', withReferer)).toEqual({ count: 25 });
    }
    const elsewhere = await exchange(emu, pt, 'https://gis.other.example/arcgis');
    expect(elsewhere.token).toBeTruthy();
    expect(await countWith(emu, elsewhere.token as string, 'Parcels', withReferer)).toEqual(INVALID_TOKEN);
    const st = await exchange(emu, pt, emu.url);
    expect(await countWith(emu, st.token as string)).toEqual(INVALID_TOKEN);
    expect(await countWith(emu, st.token as string, 'Parcels', { referer: 'https://other.example' })).toEqual(
      INVALID_TOKEN,
    );
    expect(emu.stats().tokensIssued).toMatchObject({ federated: 5 });
  });

  it('refuses a missing or bad serverUrl, an unknown, expired or unbound portal token, API keys', async () => {
    const time = new FakeTime();
    const emu = await start({
      federation: { enabled: true },
      apiKeys: ['AAPK-test-key-1'],
      now: () => time.now(),
    });
    const pt = await portalToken(emu);
    expect(await exchange(emu, pt, '')).toMatchObject({
      error: { code: 400, details: ["'serverUrl' must be specified."] },
    });
    expect(await exchange(emu, pt, 'ftp://x')).toMatchObject({
      error: { code: 400, details: ["Invalid value for 'serverUrl'."] },
    });
    expect(await exchange(emu, 'made-up', emu.url)).toEqual(INVALID_TOKEN);
    expect(await exchange(emu, 'AAPK-test-key-1', emu.url)).toEqual(INVALID_TOKEN);
    // the portal token is referer-bound: the exchange must carry that Referer
    expect(await exchange(emu, pt, emu.url, bound, {})).toEqual(INVALID_TOKEN);
    await time.advance(60 * 60_000);
    expect(await exchange(emu, pt, emu.url)).toEqual(INVALID_TOKEN);
    expect(emu.stats()).toMatchObject({ tokensIssued: { federated: 0 }, rejected: { invalidToken: 4 } });
  });

  it('never lets the server token outlive the portal token', async () => {
    const time = new FakeTime();
    const emu = await start({ federation: { enabled: true }, now: () => time.now() });
    const pt = await portalToken(emu, { ...bound, expiration: '30' });
    await time.advance(10 * 60_000);
    const st = await exchange(emu, pt, emu.url, { ...bound, expiration: '120' });
    expect(st.expires).toBe(time.now() + 20 * 60_000);
    const longer = await portalToken(emu, { ...bound, expiration: '600' });
    expect((await exchange(emu, longer, emu.url, { ...bound, expiration: '45' })).expires).toBe(
      time.now() + 45 * 60_000,
    );
  });

  it('exchanges OAuth access tokens too (without a client: bound to the request IP)', async () => {
    const emu = await start({ federation: { enabled: true } });
    const { access_token } = await userTokens(emu);
    expect(await countWith(emu, access_token)).toEqual(INVALID_TOKEN);
    const st = await exchange(emu, access_token, emu.url, {}, {});
    expect(await countWith(emu, st.token as string)).toEqual({ count: 25 });
  });

  it('username/password + serverUrl at the portal gives a token for that server directly', async () => {
    const emu = await start({ federation: { enabled: true } });
    const direct = (
      await call(`${emu.portalUrl}/sharing/rest/generateToken`, {
        form: { f: 'json', ...USER, serverUrl: emu.url },
      })
    ).json<{ token: string }>();
    expect(await countWith(emu, direct.token)).toEqual({ count: 25 });
    expect(emu.stats().tokensIssued).toMatchObject({ federated: 1, portal: 0 });
  });

  it('without federation, exchanged tokens work on this server only; portal tokens work directly', async () => {
    const emu = await start();
    const pt = await portalToken(emu);
    expect(await countWith(emu, pt, 'Parcels', withReferer)).toEqual({ count: 25 });
    expect(
      await countWith(emu, (await exchange(emu, pt, emu.url)).token as string, 'Parcels', withReferer),
    ).toEqual({
      count: 25,
    });
    const other = await exchange(emu, pt, 'https://gis.other.example/server');
    expect(await countWith(emu, other.token as string, 'Parcels', withReferer)).toEqual(INVALID_TOKEN);
    // the server's own tokens are still refused by the portal
    const server = (await call(emu.tokenUrl, { form: { f: 'json', ...USER } })).json<{ token: string }>()
      .token;
    expect(await exchange(emu, server, emu.url, {}, {})).toEqual(INVALID_TOKEN);
  });
});

describe('a second emulator as a federated server', () => {
  it('trusts another emulator’s portal: tokens exchanged there for this server are accepted', async () => {
    const portal = await start();
    const server = await start({ users: [], federation: { enabled: true, trustedPortal: portal.portalUrl } });
    const info = (await call(`${server.restUrl}/info?f=json`)).json();
    expect(info).toMatchObject({
      owningSystemUrl: portal.portalUrl,
      authInfo: { tokenServicesUrl: `${portal.portalUrl}/sharing/rest/generateToken` },
    });
    const pt = await portalToken(portal);
    const st = await exchange(portal, pt, server.url);
    expect(await countWith(server, st.token as string, 'Parcels', withReferer)).toEqual({ count: 25 });
    // a portal token, or a token exchanged for the portal's own server: refused
    expect(await countWith(server, pt, 'Parcels', withReferer)).toEqual(INVALID_TOKEN);
    const forOther = await exchange(portal, pt, portal.url);
    expect(await countWith(server, forOther.token as string, 'Parcels', withReferer)).toEqual(INVALID_TOKEN);
    // no token at all
    expect(await countWith(server, '')).toMatchObject({ error: { code: 499 } });
    expect(portal.stats().tokensIssued).toMatchObject({ portal: 1, federated: 2 });
    expect(server.stats()).toMatchObject({ tokens: 0, rejected: { invalidToken: 2, tokenRequired: 1 } });
    // the trusted portal goes away: its tokens cannot be checked any more
    await portal.stop();
    started.splice(started.indexOf(portal), 1);
    expect(await countWith(server, st.token as string, 'Parcels', withReferer)).toEqual(INVALID_TOKEN);
  });

  it('can claim any owningSystemUrl (for NOT_FEDERATED refusals); its own portal can still vouch for it', async () => {
    const claimed = 'https://portal.elsewhere.example/portal';
    const emu = await start({ owningSystemUrl: `${claimed}/` });
    const info = (await call(`${emu.restUrl}/info?f=json`)).json();
    expect(info).toMatchObject({
      owningSystemUrl: claimed,
      authInfo: { tokenServicesUrl: `${claimed}/sharing/rest/generateToken` },
    });
    expect(emu.auth.owningSystemUrl).toBe(claimed);
    const pt = await portalToken(emu);
    expect(await countWith(emu, pt, 'Parcels', withReferer)).toEqual(INVALID_TOKEN);
    const st = await exchange(emu, pt, emu.url);
    expect(await countWith(emu, st.token as string, 'Parcels', withReferer)).toEqual({ count: 25 });
  });
});
