/**
 * Where the password may go when rest/info, not the user, names the token service: the user's
 * origin, https on the same registrable domain, or ArcGIS Online for its hosted layers. Anything
 * else is TOKEN_URL_UNTRUSTED, naming the host, and the foreign host receives nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { checkServerNamedUrl, registrableDomain, trustOf } from '../../src/auth/token-url-policy.js';
import { connect } from '../../src/client/connect.js';
import { EtlError } from '../../src/core/errors.js';
import type { EtlEvent } from '../../src/core/events.js';
import { fakeLayer, LAYER_PATH, type Scripted, scriptedServer, sendJson } from '../hostile/servers.js';

const PASSWORD = `pw-${Math.random().toString(36).slice(2)}-policy`;
const TOKEN_PATH = '/arcgis/tokens/generateToken';

describe('trustOf: which server-named token URLs may receive credentials', () => {
  it.each([
    [
      'https://gis.example.com/arcgis/rest/services/A/FeatureServer/0',
      'https://gis.example.com/arcgis/tokens/generateToken',
      'same-origin',
    ],
    [
      'http://127.0.0.1:8080/arcgis/rest/services/A/FeatureServer/0',
      'http://127.0.0.1:8080/arcgis/tokens/generateToken',
      'same-origin',
    ],
    [
      'https://gis.example.com/arcgis/rest/services/A/FeatureServer/0',
      'https://portal.example.com/portal/sharing/rest/generateToken',
      'same-site',
    ],
    [
      'https://a.b.example.co.uk/arcgis/rest',
      'https://portal.example.co.uk/portal/sharing/rest/generateToken',
      'same-site',
    ],
    [
      'https://services3.arcgis.com/abc/arcgis/rest/services/A/FeatureServer/0',
      'https://www.arcgis.com/sharing/rest/generateToken',
      'arcgis-online',
    ],
    [
      'https://services.arcgis.com/abc/arcgis/rest/services/A/FeatureServer/0',
      'https://myorg.maps.arcgis.com/sharing/rest/generateToken',
      'arcgis-online',
    ],
  ])('%s → %s: %s', (user, named, why) => {
    expect(trustOf(user, named)).toBe(why);
  });

  it.each([
    // plain http to another origin, even on the same host name or domain
    ['https://gis.example.com/arcgis/rest', 'http://gis.example.com/arcgis/tokens/generateToken'],
    ['https://gis.example.com/arcgis/rest', 'http://portal.example.com/portal/sharing/rest/generateToken'],
    // another site
    ['https://gis.example.com/arcgis/rest', 'https://attacker.example.net/tokens/generateToken'],
    ['https://gis.example.com/arcgis/rest', 'https://example.com.attacker.net/tokens/generateToken'],
    // two sites under a public (private-section) suffix are not one site
    ['https://alice.github.io/arcgis/rest', 'https://mallory.github.io/tokens/generateToken'],
    // IP addresses have no registrable domain: only the same origin
    ['https://10.0.0.5/arcgis/rest', 'https://10.0.0.6/arcgis/tokens/generateToken'],
    ['http://127.0.0.1:8080/arcgis/rest', 'http://127.0.0.1:9090/arcgis/tokens/generateToken'],
    // ArcGIS Online's token service only for ArcGIS Online's layers, and over https
    ['https://gis.example.com/arcgis/rest', 'https://www.arcgis.com/sharing/rest/generateToken'],
    ['https://services3.arcgis.com/abc/arcgis/rest', 'http://www.arcgis.com/sharing/rest/generateToken'],
    // arcgis.com hosts many organisations: not every *.arcgis.com host is a token service
    ['https://services3.arcgis.com/abc/arcgis/rest', 'https://evil.arcgis.com/sharing/rest/generateToken'],
  ])('%s → %s: untrusted', (user, named) => {
    expect(trustOf(user, named)).toBeUndefined();
    expect(() => checkServerNamedUrl(user, named, 'rest/info tokenServicesUrl')).toThrow(
      expect.objectContaining({
        code: 'TOKEN_URL_UNTRUSTED',
        message: expect.stringContaining(new URL(named).host),
      }),
    );
  });

  it('registrable domains come from the Public Suffix List, private section included', () => {
    expect(registrableDomain('a.b.example.co.uk')).toBe('example.co.uk');
    expect(registrableDomain('alice.github.io')).toBe('alice.github.io');
    expect(registrableDomain('127.0.0.1')).toBeUndefined();
    expect(registrableDomain('[::1]')).toBeUndefined();
    expect(registrableDomain('co.uk')).toBeUndefined();
  });
});

describe('connect() with a rest/info that names a foreign token service', () => {
  let servers: Scripted[] = [];
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });

  /** `foreign` issues tokens; `home` serves the layer and points its rest/info at `foreign`. */
  async function twoServers(): Promise<{ home: Scripted; foreign: Scripted }> {
    const foreign = await scriptedServer((req, res) =>
      req.path === TOKEN_PATH
        ? sendJson(res, { token: 'tok-from-foreign', expires: Date.now() + 3_600_000, ssl: false })
        : sendJson(res, { error: { code: 404, message: 'Not found' } }),
    );
    const layer = fakeLayer([]);
    const home = await scriptedServer((req, res) =>
      req.path === '/arcgis/rest/info'
        ? sendJson(res, {
            currentVersion: 11.1,
            authInfo: { isTokenBasedSecurity: true, tokenServicesUrl: `${foreign.origin}${TOKEN_PATH}` },
          })
        : layer(req, res),
    );
    servers.push(home, foreign);
    return { home, foreign };
  }

  it('refuses with TOKEN_URL_UNTRUSTED naming the host, and sends the password nowhere', async () => {
    const { home, foreign } = await twoServers();
    const events: EtlEvent[] = [];
    const error = await connect({
      url: `${home.origin}${LAYER_PATH}`,
      credentials: { username: 'etl', password: PASSWORD },
      emit: (e) => events.push(e),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EtlError);
    expect((error as EtlError).code).toBe('TOKEN_URL_UNTRUSTED');
    expect((error as EtlError).message).toContain(new URL(foreign.origin).host);
    expect((error as EtlError).message).toMatch(/--token-url|--portal/);
    expect(foreign.requests).toEqual([]);
    expect(home.received()).not.toContain(PASSWORD);
    expect(events.filter((e) => e.type === 'token.request')).toEqual([]);
  });

  it('an explicit token URL is the user’s choice: used, and the token request names its host', async () => {
    const { home, foreign } = await twoServers();
    const events: EtlEvent[] = [];
    const connection = await connect({
      url: `${home.origin}${LAYER_PATH}`,
      credentials: { username: 'etl', password: PASSWORD },
      tokenUrl: `${foreign.origin}${TOKEN_PATH}`,
      emit: (e) => events.push(e),
    });
    try {
      expect(await connection.auth?.getToken(`${home.origin}${LAYER_PATH}`)).toBe('tok-from-foreign');
    } finally {
      await connection.close();
    }
    expect(foreign.requests.map((r) => r.path)).toEqual([TOKEN_PATH]);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'token.request', host: new URL(foreign.origin).host }),
    );
  });

  it('a token service on the layer’s own origin (the emulator on loopback http) is used as before', async () => {
    const layer = fakeLayer([]);
    const home = await scriptedServer((req, res) => {
      if (req.path === '/arcgis/rest/info') {
        sendJson(res, {
          currentVersion: 11.1,
          authInfo: { isTokenBasedSecurity: true, tokenServicesUrl: '/arcgis/tokens/' },
        });
      } else if (req.path === TOKEN_PATH) {
        sendJson(res, { token: 'tok-home', expires: Date.now() + 3_600_000, ssl: false });
      } else layer(req, res);
    });
    servers.push(home);
    const events: EtlEvent[] = [];
    const connection = await connect({
      url: `${home.origin}${LAYER_PATH}`,
      credentials: { username: 'etl', password: PASSWORD },
      emit: (e) => events.push(e),
    });
    try {
      expect(await connection.auth?.getToken(`${home.origin}${LAYER_PATH}`)).toBe('tok-home');
    } finally {
      await connection.close();
    }
    expect(events).toContainEqual({
      type: 'token.request',
      host: new URL(home.origin).host,
      url: `${home.origin}${TOKEN_PATH}`,
    });
  });

  it('a foreign owningSystemUrl (federation) is refused too: the portal token would go there', async () => {
    const foreign = await scriptedServer((_req, res) =>
      sendJson(res, { error: { code: 404, message: 'x' } }),
    );
    const layer = fakeLayer([]);
    const home = await scriptedServer((req, res) => {
      if (req.path === '/arcgis/rest/info') {
        sendJson(res, {
          currentVersion: 11.1,
          owningSystemUrl: `${foreign.origin}/portal`,
          authInfo: { isTokenBasedSecurity: true, tokenServicesUrl: '/arcgis/tokens/' },
        });
      } else layer(req, res);
    });
    servers.push(home, foreign);
    await expect(
      connect({ url: `${home.origin}${LAYER_PATH}`, credentials: { username: 'etl', password: PASSWORD } }),
    ).rejects.toMatchObject({ code: 'TOKEN_URL_UNTRUSTED' });
    expect(foreign.requests).toEqual([]);
  });
});
