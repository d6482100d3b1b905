/** The rest-js adapter's refresh bookkeeping and the federation router, with scripted parts. */
import { describe, expect, it } from 'vitest';
import { FederatedAuthenticator } from '../../src/auth/federation.js';
import { toArcGISRestAuthentication } from '../../src/auth/rest-js-adapter.js';
import type { Authenticator, AuthStats } from '../../src/auth/types.js';
import { EtlError } from '../../src/core/errors.js';
import { FakeTime } from '../../src/core/fake-time.js';
import { FakeTransport } from '../auth/fake-transport.js';
import { rejection } from './helpers.js';

/** An Authenticator handing out tok-1, tok-2, … : a new one after each invalidation of the current. */
class CountingAuth implements Authenticator {
  readonly referer = undefined;
  readonly canRefresh = true;
  readonly stats: AuthStats = { generated: 0, refreshed: 0, invalidated: 0, failed: 0, sharedHits: 0 };
  current: string | undefined;
  invalidations: string[] = [];
  async getToken(url: string): Promise<string | undefined> {
    if (!url.startsWith('https://gis.example.com/')) return undefined;
    if (this.current === undefined) {
      this.stats.generated++;
      this.current = `tok-${this.stats.generated}`;
    }
    return this.current;
  }
  async invalidate(token: string): Promise<void> {
    this.invalidations.push(token);
    if (token === this.current) {
      this.current = undefined;
      this.stats.invalidated++;
    }
  }
}

describe('toArcGISRestAuthentication', () => {
  const URL_ = 'https://gis.example.com/server/rest/services/A/FeatureServer/0/query';

  it('concurrent refreshCredentials share one refresh; within the grace window nothing is invalidated again', async () => {
    const time = new FakeTime();
    const auth = new CountingAuth();
    const adapter = toArcGISRestAuthentication(auth, { clock: time, graceMs: 5_000 });
    expect(await adapter.getToken(URL_)).toBe('tok-1');
    const refreshed = await Promise.all([1, 2, 3, 4, 5].map(() => adapter.refreshCredentials()));
    expect(refreshed.every((r) => r === adapter)).toBe(true);
    expect(auth.invalidations).toEqual(['tok-1']);
    expect(await adapter.getToken(URL_)).toBe('tok-2');
    // a late 498 from a request that still carried tok-1 arrives 1 s later: tok-2 is kept
    await time.advance(1_000);
    await adapter.refreshCredentials();
    expect(auth.invalidations).toEqual(['tok-1']);
    expect(auth.stats.generated).toBe(2);
    // much later, tok-2 itself is refused: it is invalidated and renewed
    await time.advance(60_000);
    await adapter.refreshCredentials();
    expect(auth.invalidations).toEqual(['tok-1', 'tok-2']);
    expect(await adapter.getToken(URL_)).toBe('tok-3');
  });

  it('answers an empty token for URLs outside the credentials, and exposes portal/canRefresh', async () => {
    const adapter = toArcGISRestAuthentication(new CountingAuth(), {
      portal: 'https://gis.example.com/portal',
    });
    expect(await adapter.getToken('https://third-party.example.net/arcgis/rest/services')).toBe('');
    expect(adapter.portal).toBe('https://gis.example.com/portal/sharing/rest');
    expect(adapter.canRefresh).toBe(true);
    expect(adapter.federatedServers).toEqual({});
  });

  it('a failed refresh rejects, and is not remembered', async () => {
    const auth = new CountingAuth();
    const adapter = toArcGISRestAuthentication(auth);
    await adapter.getToken(URL_);
    const original = auth.getToken.bind(auth);
    auth.getToken = async () => {
      throw new EtlError('RETRIES_EXHAUSTED', 'token endpoint down');
    };
    expect((await rejection(adapter.refreshCredentials())).code).toBe('RETRIES_EXHAUSTED');
    auth.getToken = original;
    expect(await adapter.getToken(URL_)).toBe('tok-2');
  });
});

describe('FederatedAuthenticator routing', () => {
  const PORTAL = 'https://gis.example.com/portal';
  const SERVER = 'https://maps.example.com/server';

  function setup() {
    const portalAuth = new CountingAuth();
    const transport = new FakeTransport();
    const auth = new FederatedAuthenticator({ portal: PORTAL, portalAuth, transport });
    return { portalAuth, transport, auth };
  }

  it('portal URLs get the portal token; another portal gets nothing', async () => {
    const { auth, transport } = setup();
    expect(await auth.getToken(`${PORTAL}/sharing/rest/content/items/x`)).toBe('tok-1');
    expect(await auth.getToken('https://gis.example.com/other/sharing/rest/portals/self')).toBeUndefined();
    expect(transport.calls).toHaveLength(0);
  });

  it('a rest/info failure is not remembered; a server without token security gets no token', async () => {
    const { auth, transport } = setup();
    transport.push({ error: new EtlError('NETWORK_ERROR', 'connection reset') });
    transport.push({ body: { currentVersion: 11.1, authInfo: { isTokenBasedSecurity: false } } });
    const url = `${SERVER}/rest/services/Open/MapServer/0`;
    expect((await rejection(auth.getToken(url))).code).toBe('NETWORK_ERROR');
    expect(await auth.getToken(url)).toBeUndefined();
    expect(await auth.getToken(`${SERVER}/rest/services/Other/MapServer/1`)).toBeUndefined();
    expect(transport.calls.map((c) => c.url)).toEqual([`${SERVER}/rest/info`, `${SERVER}/rest/info`]);
    expect(auth.serverInfoRequests).toBe(2);
  });

  it('a standalone secured server (no owningSystemUrl) is NOT_FEDERATED', async () => {
    const { auth, transport } = setup();
    transport.push({
      body: {
        currentVersion: 11.1,
        authInfo: { isTokenBasedSecurity: true, tokenServicesUrl: `${SERVER}/tokens/` },
      },
    });
    const error = await rejection(auth.getToken(`${SERVER}/rest/services/A/FeatureServer/0`));
    expect(error.code).toBe('NOT_FEDERATED');
    expect(error.message).toMatch(/not federated with any portal/);
  });

  it('exchanges with token + serverUrl + client=referer + referer at the portal generateToken', async () => {
    const { auth, transport } = setup();
    transport.push({
      body: {
        currentVersion: 11.1,
        owningSystemUrl: 'https://GIS.example.com/portal/',
        authInfo: { isTokenBasedSecurity: true, tokenServicesUrl: `${PORTAL}/sharing/rest/generateToken` },
      },
    });
    transport.push({ body: { token: 'server-token-abcdefgh', expires: Date.now() + 3_600_000 } });
    expect(await auth.getToken(`${SERVER}/rest/services/A/FeatureServer/0/query`)).toBe(
      'server-token-abcdefgh',
    );
    const exchange = transport.calls[1]!;
    expect(exchange.url).toBe(`${PORTAL}/sharing/rest/generateToken`);
    expect(exchange.options.params).toMatchObject({
      token: 'tok-1',
      serverUrl: SERVER,
      client: 'referer',
      referer: PORTAL,
      f: 'json',
    });
    expect(auth.referer).toBe(PORTAL);
    // invalidating the server token leaves the portal token alone
    await auth.invalidate('server-token-abcdefgh');
    expect(auth.serverAuth(`${SERVER}/rest/services/A/FeatureServer/0`)?.stats.invalidated).toBe(1);
    expect(auth.stats.invalidated).toBe(1);
    expect(await auth.getToken(`${PORTAL}/sharing/rest`)).toBe('tok-1');
  });
});
