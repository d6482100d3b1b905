/**
 * Fidelity: Esri's own unmodified clients (@esri/arcgis-rest-request + -feature-service) sign in
 * against the emulated SERVER token service and read every feature of secured layers.
 */
import { queryAllFeatures, queryFeatures } from '@esri/arcgis-rest-feature-service';
import { ArcGISIdentityManager } from '@esri/arcgis-rest-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { USER } from './helpers.js';

interface FeatureSet {
  features: { attributes: Record<string, unknown>; geometry?: unknown }[];
  exceededTransferLimit?: boolean;
}

let emu: EmulatorHandle;
beforeAll(async () => {
  emu = await startEmulator({
    users: [USER],
    layers: [
      { service: 'Parcels', generate: { count: 2345, geometry: 'polygon', seed: 5 }, maxRecordCount: 500 },
      {
        service: 'Addresses',
        generate: { count: 1801, geometry: 'point', seed: 6, oidMode: 'sparse' },
        maxRecordCount: 1000,
      },
    ],
  });
});
afterAll(async () => emu.stop());

function serverManager(): ArcGISIdentityManager {
  // a standalone server: `server` makes refreshCredentials read rest/info → tokenServicesUrl
  return new ArcGISIdentityManager({
    username: USER.username,
    password: USER.password,
    server: emu.url,
    portal: emu.url,
  });
}

function oids(set: FeatureSet, field: string): number[] {
  return set.features.map((f) => Number(f.attributes[field])).sort((a, b) => a - b);
}

describe('@esri/arcgis-rest-js against the emulator', () => {
  it('queryAllFeatures returns every feature of secured layers (counts and OIDs equal)', async () => {
    emu.resetStats();
    const manager = serverManager();
    for (const service of ['Parcels', 'Addresses']) {
      const layer = emu.layer(service);
      const all = (await queryAllFeatures({
        url: emu.layerUrl(service),
        authentication: manager,
      })) as unknown as FeatureSet;
      expect(all.features.length).toBe(layer.count);
      expect(oids(all, layer.objectIdField)).toEqual([...layer.objectIds()]);
      const sample = all.features.find((f) => f.attributes[layer.objectIdField] === layer.objectIds()[7]);
      expect(sample?.geometry).toBeTruthy();
    }
    const stats = emu.stats();
    // one sign-in, through rest/info then the advertised tokens/ URL (client=referer)
    expect(stats.tokensIssued).toMatchObject({ server: 1, legacy: 0, portal: 0 });
    expect(stats.rejected).toEqual({ invalidToken: 0, tokenRequired: 0 });
    expect(stats.requests.query).toBe(Math.ceil(2345 / 500) + Math.ceil(1801 / 1000));
  });

  it('queryFeatures sees one page and exceededTransferLimit, like on a real server', async () => {
    const page = (await queryFeatures({
      url: emu.layerUrl('Parcels'),
      where: '1=1',
      outFields: '*',
      authentication: serverManager(),
    })) as unknown as FeatureSet;
    expect(page.features.length).toBe(500);
    expect(page.exceededTransferLimit).toBe(true);
  });

  it('recovers from revoked tokens the way Esri clients do (498 → refresh → retry once)', async () => {
    const manager = serverManager();
    const url = emu.layerUrl('Addresses');
    await queryFeatures({ url, where: '1=1', returnCountOnly: true, authentication: manager });
    emu.resetStats();
    emu.revokeAll();
    const count = (await queryFeatures({
      url,
      where: '1=1',
      returnCountOnly: true,
      authentication: manager,
    })) as unknown as {
      count: number;
    };
    expect(count.count).toBe(1801);
    const stats = emu.stats();
    expect(stats.rejected.invalidToken).toBe(1);
    expect(stats.tokensIssued.server).toBe(1);
  });

  it('signs in against the emulated portal generateToken', async () => {
    emu.resetStats();
    const portal = `${emu.portalUrl}/sharing/rest`;
    const manager = new ArcGISIdentityManager({ username: USER.username, password: USER.password, portal });
    const token = await manager.getToken(portal);
    expect(token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(manager.tokenExpires.getTime()).toBeGreaterThan(Date.now());
    expect(emu.stats().tokensIssued).toMatchObject({ portal: 1, server: 0 });
  });

  it('surfaces bad credentials as the token request error', async () => {
    emu.resetStats();
    const manager = new ArcGISIdentityManager({
      username: USER.username,
      password: 'wrong',
      server: emu.url,
      portal: emu.url,
    });
    await expect(
      queryFeatures({ url: emu.layerUrl('Parcels'), where: '1=1', authentication: manager }),
    ).rejects.toThrow(/Unable to generate token|Invalid username or password/);
    expect(emu.stats().badLogins).toBe(1);
  });
});
