/**
 * Fidelity: Esri's own unmodified @esri/arcgis-rest-request drives the emulator's OAuth endpoints
 * and federation: app credentials, the server-side authorization code flow, refresh, revocation,
 * the federated token exchange, and its NOT_FEDERATED refusal.
 */
import { queryFeatures } from '@esri/arcgis-rest-feature-service';
import { ApplicationCredentialsManager, ArcGISIdentityManager, revokeToken } from '@esri/arcgis-rest-request';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { CONFIDENTIAL, REDIRECT, redirected, signIn, startAuth, USER } from './helpers.js';

const started: EmulatorHandle[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((e) => e.stop()));
});

async function start(options: Parameters<typeof startAuth>[0] = {}): Promise<EmulatorHandle> {
  const emu = await startAuth(options);
  started.push(emu);
  return emu;
}

const sharing = (emu: EmulatorHandle) => `${emu.portalUrl}/sharing/rest`;

describe('@esri/arcgis-rest-request against the emulated portal', () => {
  it('ApplicationCredentialsManager (client_credentials) reads a secured layer', async () => {
    const emu = await start();
    const manager = ApplicationCredentialsManager.fromCredentials({
      clientId: CONFIDENTIAL.clientId,
      clientSecret: CONFIDENTIAL.clientSecret as string,
      portal: sharing(emu),
    });
    const result = (await queryFeatures({
      url: emu.layerUrl('Parcels'),
      returnCountOnly: true,
      authentication: manager,
    })) as unknown as { count: number };
    expect(result.count).toBe(25);
    expect(emu.stats()).toMatchObject({ tokensIssued: { oauth: 1 }, requests: { oauthToken: 1, query: 1 } });
  });

  it('exchangeAuthorizationCode, refresh with the refresh token, exchange it, then revokeToken', async () => {
    const emu = await start();
    const code = redirected(
      await signIn(emu, { client_id: CONFIDENTIAL.clientId, response_type: 'code', redirect_uri: REDIRECT }),
    ).searchParams.get('code') as string;
    const options = { clientId: CONFIDENTIAL.clientId, redirectUri: REDIRECT, portal: sharing(emu) };
    const manager = await ArcGISIdentityManager.exchangeAuthorizationCode(options, code);
    expect(manager.username).toBe(USER.username);
    expect(manager.refreshToken).toBeTruthy();
    const first = manager.token;
    await manager.refreshCredentials();
    expect(manager.token).not.toBe(first);
    const oldRefresh = manager.refreshToken as string;
    await manager.exchangeRefreshToken();
    expect(manager.refreshToken).not.toBe(oldRefresh);
    expect(emu.stats()).toMatchObject({ tokensIssued: { oauth: 3, oauthRefresh: 2 } });
    const revoked = await revokeToken({
      token: manager.refreshToken as string,
      clientId: CONFIDENTIAL.clientId,
      portal: sharing(emu),
    });
    expect(revoked).toEqual({ success: true });
    await expect(manager.refreshCredentials()).rejects.toMatchObject({ code: 'TOKEN_REFRESH_FAILED' });
    expect(emu.stats().requests).toMatchObject({ oauthToken: 4, revokeToken: 1 });
  });

  it('a portal identity reads a federated server through the token exchange', async () => {
    const emu = await start({ federation: { enabled: true } });
    const manager = new ArcGISIdentityManager({
      username: USER.username,
      password: USER.password,
      portal: sharing(emu),
    });
    const result = (await queryFeatures({
      url: emu.layerUrl('Parcels'),
      returnCountOnly: true,
      authentication: manager,
    })) as unknown as { count: number };
    expect(result.count).toBe(25);
    expect(emu.stats()).toMatchObject({
      tokensIssued: { portal: 1, federated: 1, server: 0 },
      requests: { portalSelf: 1, info: 1, portalInfo: 1, portalGenerateToken: 2, query: 1 },
      rejected: { invalidToken: 0, tokenRequired: 0 },
    });
  });

  it('refuses a server whose owningSystemUrl is another portal (NOT_FEDERATED)', async () => {
    const emu = await start({ owningSystemUrl: 'https://portal.elsewhere.example/portal' });
    const manager = new ArcGISIdentityManager({
      username: USER.username,
      password: USER.password,
      portal: sharing(emu),
    });
    await expect(
      queryFeatures({ url: emu.layerUrl('Parcels'), returnCountOnly: true, authentication: manager }),
    ).rejects.toMatchObject({ code: 'NOT_FEDERATED' });
    expect(emu.stats().tokensIssued).toMatchObject({ federated: 0 });
  });
});
