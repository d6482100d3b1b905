/**
 * Federated servers against the emulator: portal token → server token by exchange, cached per
 * server; the portal token refreshed before the exchange; a server 498 renews only that server's
 * token; servers owned by another portal refused (NOT_FEDERATED) unless trusted.
 */
import { describe, expect, it } from 'vitest';
import { FederatedAuthenticator } from '../../src/auth/federation.js';
import { GenerateTokenProvider } from '../../src/auth/generate-token.js';
import { TokenManager } from '../../src/auth/token-manager.js';
import { ArcGISClient } from '../../src/client/arcgis-client.js';
import { connect } from '../../src/client/connect.js';
import { FakeTime } from '../../src/core/fake-time.js';
import { type Env, emulatorEnv, extraEmulator } from './emulators.js';
import { rejection, Transcript } from './helpers.js';

const MIN = 60_000;

/** A portal manager + FederatedAuthenticator + client on `clientTime` (may differ from the emulator's clock). */
function federatedStack(
  env: Env,
  options: { clientTime?: FakeTime; serverMinutes?: number; trustedServers?: string[] } = {},
) {
  const time = options.clientTime ?? env.time;
  const t = new Transcript();
  const portalAuth = new TokenManager({
    provider: new GenerateTokenProvider({
      tokenUrl: `${env.emu.portalUrl}/sharing/rest/generateToken`,
      username: env.user.username,
      password: env.user.password,
      transport: env.transport,
      expirationMinutes: 60,
    }),
    runtime: time.runtime(),
    emit: t.emit,
  });
  const auth = new FederatedAuthenticator({
    portal: env.emu.portalUrl,
    portalAuth,
    transport: env.transport,
    runtime: time.runtime(),
    emit: t.emit,
    identity: { username: env.user.username },
    ...(options.serverMinutes === undefined ? {} : { expirationMinutes: options.serverMinutes }),
    ...(options.trustedServers ? { trustedServers: options.trustedServers } : {}),
  });
  const client = new ArcGISClient({ transport: env.transport, auth, emit: t.emit });
  return { portalAuth, auth, client, t };
}

const query = (client: ArcGISClient, layerUrl: string) =>
  client.request<{ features: unknown[] }>(`${layerUrl}/query`, { where: '1=1' });

describe('FederatedAuthenticator', () => {
  it('exchanges the portal token for a server token once, and sends it to the server only', async () => {
    const env = await emulatorEnv({ federation: { enabled: true } });
    const { auth, client, t } = federatedStack(env);
    const pages = await Promise.all(Array.from({ length: 6 }, () => query(client, env.layerUrl)));
    expect(pages.every((p) => p.features.length === 10)).toBe(true);
    const stats = env.emu.stats();
    expect(stats.tokensIssued.portal).toBe(1);
    expect(stats.tokensIssued.federated).toBe(1);
    expect(stats.requests.info).toBe(1);
    expect(stats.rejected.invalidToken).toBe(0);
    const portalToken = await auth.getToken(`${env.emu.portalUrl}/sharing/rest/portals/self`);
    const serverToken = await auth.getToken(env.layerUrl);
    expect(serverToken).not.toBe(portalToken);
    expect(auth.serverAuth(env.layerUrl)?.stats.generated).toBe(1);
    // the portal itself refuses the server token, and accepts the portal token
    expect(await client.request(`${env.emu.portalUrl}/sharing/rest/portals/self`)).toMatchObject({
      user: { username: env.user.username },
    });
    expect(await auth.getToken('https://unrelated.example.com/portal/sharing/rest')).toBeUndefined();
    t.expectClean(env.user.password);
  });

  it('refreshes an expiring portal token BEFORE the exchange (no 498 on the way)', async () => {
    const env = await emulatorEnv({ federation: { enabled: true } });
    const { client, portalAuth } = federatedStack(env);
    await query(client, env.layerUrl);
    // the server token never outlives the portal token: both are due for renewal at 59 min
    await env.time.advance(59 * MIN);
    await Promise.all([1, 2, 3].map(() => query(client, env.layerUrl)));
    const stats = env.emu.stats();
    expect(stats.tokensIssued.portal).toBe(2);
    expect(stats.tokensIssued.federated).toBe(2);
    expect(stats.rejected.invalidToken).toBe(0);
    expect(portalAuth.stats).toMatchObject({ generated: 2, refreshed: 1, invalidated: 0 });
  });

  it('a server 498 invalidates the server token only: 1 new server token, the portal token kept', async () => {
    const serverTime = new FakeTime(Date.now());
    const clientTime = new FakeTime(serverTime.now());
    const env = await emulatorEnv({ federation: { enabled: true } }, serverTime);
    const { client, portalAuth, auth } = federatedStack(env, { clientTime, serverMinutes: 5 });
    await query(client, env.layerUrl);
    // the server's clock moves 6 minutes on; ours does not: our server token looks fresh but is not
    await serverTime.advance(6 * MIN);
    await Promise.all(Array.from({ length: 5 }, () => query(client, env.layerUrl)));
    const stats = env.emu.stats();
    expect(stats.rejected.invalidToken).toBeGreaterThanOrEqual(1);
    expect(stats.tokensIssued.federated).toBe(2);
    expect(stats.tokensIssued.portal).toBe(1);
    expect(portalAuth.stats.invalidated).toBe(0);
    expect(auth.serverAuth(env.layerUrl)?.stats).toMatchObject({ generated: 2, invalidated: 1 });
  });

  it('a portal token the exchange refuses (revoked) is renewed once, then the exchange succeeds', async () => {
    const env = await emulatorEnv({ federation: { enabled: true } });
    const { client, portalAuth } = federatedStack(env);
    await query(client, env.layerUrl);
    env.emu.revokeAll();
    await query(client, env.layerUrl);
    const stats = env.emu.stats();
    expect(stats.tokensIssued.portal).toBe(2);
    expect(stats.tokensIssued.federated).toBe(2);
    expect(portalAuth.stats.invalidated).toBe(1);
  });

  it('a server owned by another portal is refused with NOT_FEDERATED (rest/info read once, no exchange)', async () => {
    const env = await emulatorEnv({ federation: { enabled: true } });
    const foreign = await extraEmulator({
      users: [env.user],
      owningSystemUrl: 'https://other-portal.example.com/portal',
      layers: [{ service: 'Roads', generate: { count: 5, geometry: 'point', seed: 1 } }],
    });
    const { client, t } = federatedStack(env);
    const url = foreign.layerUrl('Roads', 0);
    const first = await rejection(query(client, url), t);
    const second = await rejection(query(client, url), t);
    expect(first.code).toBe('NOT_FEDERATED');
    expect(first.message).toContain('other-portal.example.com');
    expect(second.code).toBe('NOT_FEDERATED');
    expect(foreign.stats().requests.info).toBe(1);
    expect(foreign.stats().requests.query ?? 0).toBe(0);
    expect(env.emu.stats().tokens).toBe(0);
    t.expectClean(env.user.password);
  });

  it('…unless it is trusted (a portal known under another name): then the exchange works', async () => {
    const env = await emulatorEnv({ federation: { enabled: true } });
    const alias = 'https://gis-internal.example.com/portal';
    const trusting = await extraEmulator({
      owningSystemUrl: alias,
      federation: { enabled: true, trustedPortal: env.emu.portalUrl },
      users: [env.user],
      layers: [{ service: 'Roads', generate: { count: 5, geometry: 'point', seed: 1 } }],
    });
    const { client } = federatedStack(env, { trustedServers: [alias] });
    const page = await query(client, trusting.layerUrl('Roads', 0));
    expect(page.features).toHaveLength(5);
    expect(env.emu.stats().tokensIssued.federated).toBe(1);
  });

  it('connect() wires federation by itself when the server names its owning portal', async () => {
    const env = await emulatorEnv({ federation: { enabled: true } });
    for (const portal of [env.emu.portalUrl, undefined]) {
      env.emu.resetStats();
      const connection = await connect({
        url: env.layerUrl,
        ...(portal ? { portal } : {}),
        credentials: env.user,
        transport: env.transport,
        runtime: env.time.runtime(),
      });
      expect(connection.federated).toBeDefined();
      const page = await connection.client.request<{ features: unknown[] }>(`${env.layerUrl}/query`, {
        where: '1=1',
      });
      expect(page.features).toHaveLength(10);
      expect(env.emu.stats().tokensIssued).toMatchObject({ portal: 1, federated: 1 });
      expect(env.emu.stats().rejected.invalidToken).toBe(0);
      await connection.close();
    }
  });
});
