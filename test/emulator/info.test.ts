import { afterEach, describe, expect, it } from 'vitest';
import { serveEmulator } from '../../src/emulator/server.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { recordedJson } from '../fixtures/recorded.js';
import { call, startStub, stubLayer } from './helpers.js';

let emu: EmulatorHandle | undefined;
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

describe('rest/info', () => {
  it('advertises token security and the token service like a real server', async () => {
    emu = await startStub();
    const origin = new URL(emu.url).origin;
    const res = await call(`${emu.restUrl}/info?f=json`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const info = res.json();
    expect(info).toMatchObject({
      currentVersion: 11.1,
      fullVersion: '11.1.0',
      authInfo: {
        isTokenBasedSecurity: true,
        tokenServicesUrl: `${origin}/arcgis/tokens/`,
        shortLivedTokenValidity: 60,
      },
    });
    // same style as the recorded server answers: a numeric currentVersion, like 10.22 or 10.81
    const polk = recordedJson('us-fl-polk/us-fl-polk-metadata.json');
    expect(typeof polk.currentVersion).toBe('number');
    expect(typeof info.currentVersion).toBe(typeof polk.currentVersion);
    // also answers POST, and not secured without users
    const post = await call(`${emu.restUrl}/info`, { form: { f: 'json' } });
    expect(post.json()).toEqual(info);
  });

  it('has no tokenServicesUrl when no users exist, and honours a custom prefix', async () => {
    emu = await serveEmulator({ prefix: '/server' }, [stubLayer('A', 3)]);
    expect(emu.url).toMatch(/\/server$/);
    const info = (await call(`${emu.url}/rest/info?f=pjson`)).json<{ authInfo: Record<string, unknown> }>();
    expect(info.authInfo).toEqual({ isTokenBasedSecurity: false });
    expect((await call(`${new URL(emu.url).origin}/arcgis/rest/info?f=json`)).status).toBe(404);
  });

  it('answers HTML without f=json, as real servers default to html', async () => {
    emu = await startStub();
    const res = await call(`${emu.restUrl}/info`);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('<html');
  });
});

describe('services directory', () => {
  it('lists services as FeatureServer and MapServer, and folders', async () => {
    emu = await serveEmulator({}, [stubLayer('Parcels', 3), stubLayer('Tax/Roll', 2)]);
    const root = (await call(`${emu.restUrl}/services?f=json`)).json();
    expect(root).toEqual({
      currentVersion: 11.1,
      folders: ['Tax'],
      services: [
        { name: 'Parcels', type: 'FeatureServer' },
        { name: 'Parcels', type: 'MapServer' },
      ],
    });
    const folder = (await call(`${emu.restUrl}/services/Tax?f=json`)).json();
    expect(folder).toMatchObject({
      folders: [],
      services: [
        { name: 'Tax/Roll', type: 'FeatureServer' },
        { name: 'Tax/Roll', type: 'MapServer' },
      ],
    });
    const layer = (await call(`${emu.layerUrl('Tax/Roll')}?f=json`)).json();
    expect(layer).toMatchObject({ name: 'Tax/Roll', objectIdField: 'OBJECTID' });
  });

  it('serves FeatureServer and MapServer resources with their layers', async () => {
    emu = await serveEmulator({}, [stubLayer('Parcels', 3, 0, 500), stubLayer('Parcels', 4, 2, 700)]);
    const fs = (await call(`${emu.restUrl}/services/Parcels/FeatureServer?f=json`)).json<
      Record<string, unknown>
    >();
    expect(fs).toMatchObject({
      currentVersion: 11.1,
      maxRecordCount: 700,
      capabilities: 'Query,Sync', // generated layers are sync-enabled by default
      tables: [],
    });
    expect((fs.layers as { id: number }[]).map((l) => l.id)).toEqual([0, 2]);
    const ms = (await call(`${emu.restUrl}/services/Parcels/MapServer?f=json`)).json<
      Record<string, unknown>
    >();
    expect(ms).toMatchObject({ mapName: 'Parcels', capabilities: 'Map,Query,Data' });
    const msLayer = (await call(`${emu.restUrl}/services/Parcels/MapServer/2?f=json`)).json();
    expect(msLayer).toMatchObject({ id: 2, maxRecordCount: 700 });
    const q = (
      await call(`${emu.restUrl}/services/Parcels/MapServer/2/query?where=1%3D1&returnCountOnly=true&f=json`)
    ).json();
    expect(q).toEqual({ count: 4 });
    expect(emu.stats().requests).toMatchObject({ service: 2, layer: 1, query: 1 });
  });

  it('answers unknown services and layers with the Invalid URL envelope (HTTP 200)', async () => {
    emu = await startStub();
    for (const path of [
      'services/Nope/FeatureServer',
      'services/Parcels/FeatureServer/9',
      'services/Parcels/FeatureServer/0/nothing',
      'services/NoFolder',
    ]) {
      const res = await call(`${emu.restUrl}/${path}?f=json`);
      expect(res.status).toBe(200);
      expect(res.json()).toEqual({ error: { code: 400, message: 'Invalid URL', details: ['Invalid URL'] } });
    }
    expect(emu.stats().requests.notFound).toBe(1);
  });

  it('answers an EmulatorQueryError as an envelope with its code', async () => {
    emu = await startStub();
    const res = await call(`${emu.layerUrl('Public')}/query`, { form: { where: 'boom', f: 'json' } });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({
      error: { code: 400, message: 'Unable to complete operation.', details: ['bad where'] },
    });
  });
});

describe('portal', () => {
  it('answers sharing/rest and sharing/rest/info like a portal', async () => {
    emu = await startStub({ portalPrefix: '/gis' });
    expect(emu.portalUrl).toMatch(/\/gis$/);
    expect((await call(`${emu.portalUrl}/sharing/rest?f=json`)).json()).toEqual({ currentVersion: '11.1' });
    const info = (await call(`${emu.portalUrl}/sharing/rest/info?f=json`)).json();
    expect(info).toEqual({
      owningSystemUrl: emu.portalUrl,
      authInfo: {
        tokenServicesUrl: `${emu.portalUrl}/sharing/rest/generateToken`,
        isTokenBasedSecurity: true,
      },
    });
  });
});
