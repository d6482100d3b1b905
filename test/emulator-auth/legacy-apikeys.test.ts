import { afterEach, describe, expect, it } from 'vitest';
import { FakeTime } from '../../src/core/fake-time.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { call, countWith, INVALID_TOKEN, startAuth, USER } from './helpers.js';

let emu: EmulatorHandle | undefined;
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

describe('legacy ArcGIS Server 10.0', () => {
  it('rest/info has no currentVersion and names the legacy token service; generateToken is absent', async () => {
    emu = await startAuth({ legacy: true });
    const origin = new URL(emu.url).origin;
    const info = (await call(`${emu.restUrl}/info?f=json`)).json();
    expect(info).toEqual({
      soapUrl: `${origin}/arcgis/services`,
      secureSoapUrl: null,
      authInfo: { isTokenBasedSecurity: true, tokenServicesUrl: `${origin}/arcgis/tokens` },
    });
    expect(emu.tokenUrl).toBe(`${origin}/arcgis/tokens`);
    expect(emu.auth.legacy).toBe(true);
    const generate = await call(`${emu.url}/tokens/generateToken`, { form: { f: 'json', ...USER } });
    expect(generate.status).toBe(404);
    expect(generate.headers['content-type']).toMatch(/^text\/html/);
    // the token service root without request=getToken: its HTML page, no token
    const root = await call(`${emu.url}/tokens`, { form: { f: 'json', ...USER } });
    expect(root.headers['content-type']).toMatch(/^text\/html/);
    expect(root.text).toContain('name="request" value="getToken"');
    expect(emu.stats()).toMatchObject({ tokens: 0, requests: { info: 1, notFound: 1, tokens: 1 } });
  });

  it('getToken answers plain text and honours expiration (minutes) and the lifetime override', async () => {
    const time = new FakeTime();
    emu = await startAuth({ legacy: true, now: () => time.now() });
    const qs = (extra: Record<string, string>) =>
      new URLSearchParams({ request: 'getToken', ...USER, ...extra }).toString();
    const text = await call(`${emu.url}/tokens?${qs({ expiration: '5' })}`);
    expect(text.headers['content-type']).toMatch(/^text\/plain/);
    const token = text.text;
    expect(await countWith(emu, token)).toEqual({ count: 25 });
    await time.advance(5 * 60_000 - 1);
    expect(await countWith(emu, token)).toEqual({ count: 25 });
    await time.advance(1);
    expect(await countWith(emu, token)).toEqual(INVALID_TOKEN);
    const json = (await call(`${emu.url}/tokens?${qs({ expiration: '7', f: 'json' })}`)).json<{
      expires: number;
    }>();
    expect(json.expires).toBe(time.now() + 7 * 60_000);
    expect(emu.stats().tokensIssued).toMatchObject({ legacy: 2, server: 0 });
    await emu.stop();
    emu = await startAuth({ legacy: true, tokenLifetimeSeconds: 3, now: () => time.now() });
    const short = (await call(`${emu.url}/tokens?${qs({ expiration: '60', f: 'json' })}`)).json<{
      expires: number;
    }>();
    expect(short.expires).toBe(time.now() + 3000);
  });

  it('serves services, service and layer resources without currentVersion', async () => {
    emu = await startAuth({ legacy: true });
    const token = (await call(`${emu.url}/tokens?${new URLSearchParams({ request: 'getToken', ...USER })}`))
      .text;
    for (const url of [
      `${emu.restUrl}/services`,
      `${emu.restUrl}/services/Parcels/FeatureServer`,
      emu.layerUrl('Parcels'),
    ]) {
      const body = (await call(`${url}?f=json&token=${token}`)).json();
      expect(body).not.toHaveProperty('error');
      expect(body).not.toHaveProperty('currentVersion');
    }
    // a current server keeps it
    await emu.stop();
    emu = await startAuth();
    expect((await call(`${emu.restUrl}/services?f=json`)).json()).toHaveProperty('currentVersion');
  });
});

describe('API keys', () => {
  const KEY = 'AAPK-emulator-key-0001';

  it('are accepted on server layers (form, query, header), never expire, and are revoked by revokeAll', async () => {
    const time = new FakeTime();
    emu = await startAuth({ users: [], apps: [], apiKeys: [KEY], now: () => time.now() });
    expect(await countWith(emu, KEY)).toEqual({ count: 25 });
    const viaQuery = await call(
      `${emu.layerUrl('Parcels')}/query?where=1%3D1&returnCountOnly=true&f=json&token=${KEY}`,
    );
    expect(viaQuery.json()).toEqual({ count: 25 });
    const viaHeader = await call(`${emu.layerUrl('Parcels')}/query?where=1%3D1&returnCountOnly=true&f=json`, {
      headers: { 'X-Esri-Authorization': `Bearer ${KEY}` },
    });
    expect(viaHeader.json()).toEqual({ count: 25 });
    // API keys alone make the server token-secured
    expect((await call(`${emu.layerUrl('Parcels')}/query?where=1%3D1&f=json`)).json()).toMatchObject({
      error: { code: 499 },
    });
    await time.advance(365 * 24 * 3600_000);
    expect(await countWith(emu, KEY)).toEqual({ count: 25 });
    expect(await countWith(emu, 'AAPK-not-a-key-00')).toEqual(INVALID_TOKEN);
    // not a portal token
    const self = await call(`${emu.portalUrl}/sharing/rest/portals/self?f=json&token=${KEY}`);
    expect(self.json()).toEqual(INVALID_TOKEN);
    emu.revokeAll();
    expect(await countWith(emu, KEY)).toEqual(INVALID_TOKEN);
    expect(emu.stats()).toMatchObject({ tokens: 0, rejected: { invalidToken: 3, tokenRequired: 1 } });
    expect(emu.auth.apiKeys).toBe(1);
  });

  it('are accepted by a federated server too', async () => {
    emu = await startAuth({ apiKeys: [KEY], federation: { enabled: true } });
    expect(await countWith(emu, KEY)).toEqual({ count: 25 });
  });

  it('rejects unusable options', async () => {
    await expect(startAuth({ apiKeys: ['short'] })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(startAuth({ owningSystemUrl: 'not a url' })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(startAuth({ apps: [{ clientId: 'a', redirectUris: ['x'] }] })).rejects.toMatchObject({
      code: 'USAGE',
    });
    await expect(
      startAuth({
        apps: [
          { clientId: 'a', redirectUris: [] },
          { clientId: 'a', redirectUris: [] },
        ],
      }),
    ).rejects.toMatchObject({ code: 'USAGE' });
    await expect(startAuth({ refreshTokenLifetimeSeconds: 0 })).rejects.toMatchObject({ code: 'USAGE' });
  });
});
