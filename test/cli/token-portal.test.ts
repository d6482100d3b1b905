/**
 * `arcgis-etl token <portal URL>` works for the forms its help names: `…/portal`,
 * `…/portal/sharing/rest` (and the home app `…/portal/home`) against the emulator's portal routes,
 * and ArcGIS Online (`https://www.arcgis.com`, `https://org.maps.arcgis.com/home/…`) as URL resolution.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRestRoot } from '../../src/auth/discover.js';
import { connect } from '../../src/client/connect.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { runInProcess } from './in-process.js';

const USER = { username: 'portal-user', password: 'pw-portal-token-1' };
let emu: EmulatorHandle;
beforeAll(async () => {
  emu = await startEmulator({ users: [USER] });
});
afterAll(() => emu.stop());

describe('token <portal URL>', () => {
  it.each(['', '/', '/sharing/rest', '/sharing/rest/', '/home', '/home/index.html'])(
    '…/portal%s',
    async (suffix) => {
      const url = `${emu.portalUrl}${suffix}`;
      const r = await runInProcess(['token', url, '--json'], {
        env: { ARCGIS_USERNAME: USER.username, ARCGIS_PASSWORD: USER.password },
      });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({
        tokenUrl: `${emu.portalUrl}/sharing/rest/generateToken`,
        username: USER.username,
        expiresAt: expect.any(Number),
      });
    },
  );

  it('a server root still goes to the server (rest/info), not to a portal', async () => {
    const r = await runInProcess(['token', emu.url, '--json'], {
      env: { ARCGIS_USERNAME: USER.username, ARCGIS_PASSWORD: USER.password },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).tokenUrl).toBe(emu.tokenUrl);
  });
});

describe('ArcGIS Online portal URLs resolve to its sharing/rest', () => {
  it.each([
    ['https://www.arcgis.com', 'https://www.arcgis.com/sharing/rest'],
    ['https://www.arcgis.com/', 'https://www.arcgis.com/sharing/rest'],
    ['https://www.arcgis.com/home/item.html?id=abc', 'https://www.arcgis.com/sharing/rest'],
    ['https://myorg.maps.arcgis.com', 'https://myorg.maps.arcgis.com/sharing/rest'],
    ['https://gis.example.com/portal/home/', 'https://gis.example.com/portal/sharing/rest'],
  ])('%s → %s', (url, root) => {
    expect(findRestRoot(url)).toEqual({ kind: 'portal', root });
  });

  it('hosted feature services stay servers', () => {
    expect(findRestRoot('https://services3.arcgis.com/abc/arcgis/rest/services/A/FeatureServer/0')).toEqual({
      kind: 'server',
      root: 'https://services3.arcgis.com/abc/arcgis/rest',
    });
  });

  it('connect() picks www.arcgis.com’s generateToken for https://www.arcgis.com (no request made)', async () => {
    const connection = await connect({
      url: 'https://www.arcgis.com',
      credentials: { username: 'u', password: 'p' },
    });
    try {
      expect(connection.tokenUrl).toBe('https://www.arcgis.com/sharing/rest/generateToken');
      expect(connection.client.transport.stats.requests).toBe(0);
    } finally {
      await connection.close();
    }
  });
});
