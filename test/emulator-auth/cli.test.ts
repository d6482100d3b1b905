import { describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import { describeEmulator, emulatorCommandOptions } from '../../src/emulator/cli.js';
import { serveEmulator } from '../../src/emulator/server.js';
import { stubLayer } from './helpers.js';

describe('describeEmulator with OAuth, federation, legacy and API keys', () => {
  it('lists them only when enabled', async () => {
    const emu = await serveEmulator(
      {
        users: [{ username: 'u', password: 'p' }],
        apps: [
          { clientId: 'cli', redirectUris: ['http://127.0.0.1/cb'] },
          { clientId: 'srv', clientSecret: 's', redirectUris: ['https://a.example/cb'] },
        ],
        apiKeys: ['AAPK-0000-1111'],
        federation: { enabled: true },
      },
      [stubLayer('Parcels', 2)],
    );
    try {
      const origin = new URL(emu.url).origin;
      expect(describeEmulator(emu)).toEqual([
        `ArcGIS Server  ${origin}/arcgis/rest/services`,
        `Token URL      ${origin}/portal/sharing/rest/generateToken`,
        `Portal         ${origin}/portal/sharing/rest`,
        `OAuth          ${origin}/portal/sharing/rest/oauth2/authorize  (apps: cli, srv)`,
        `OAuth token    ${origin}/portal/sharing/rest/oauth2/token`,
        `Federation     server trusts ${origin}/portal`,
        'API keys       1 accepted on the server',
        `Layer          ${origin}/arcgis/rest/services/Parcels/FeatureServer/0  (2 features, esriGeometryPoint)`,
        `Control        ${origin}/__emulator/stats`,
      ]);
    } finally {
      await emu.stop();
    }
    const legacy = await serveEmulator({ legacy: true }, []);
    try {
      expect(describeEmulator(legacy)).toContain(`Legacy 10.0    ${legacy.url}/tokens?request=getToken`);
      expect(describeEmulator(legacy)[1]).toBe(`Token URL      ${legacy.url}/tokens`);
    } finally {
      await legacy.stop();
    }
  });
});

describe('emulatorCommandOptions: auth flags', () => {
  it('parses apps, API keys, refresh lifetime, federation, owningSystemUrl and legacy', () => {
    expect(
      emulatorCommandOptions({
        apps: ['cli@http://127.0.0.1/cb', 'srv:s3cret@https://a.example/cb,https://b.example/cb'],
        apiKeys: ['AAPK-1234-5678'],
        refreshTokenLifetimeSeconds: '600',
        federation: true,
        owningSystemUrl: 'https://p.example/portal',
        legacy: true,
      }),
    ).toEqual({
      apps: [
        { clientId: 'cli', redirectUris: ['http://127.0.0.1/cb'] },
        {
          clientId: 'srv',
          clientSecret: 's3cret',
          redirectUris: ['https://a.example/cb', 'https://b.example/cb'],
        },
      ],
      apiKeys: ['AAPK-1234-5678'],
      refreshTokenLifetimeSeconds: 600,
      federation: { enabled: true },
      owningSystemUrl: 'https://p.example/portal',
      legacy: true,
    });
  });

  it('refuses malformed apps', () => {
    for (const app of ['cli', '@http://x/cb', 'cli:@http://x/cb', 'cli@']) {
      try {
        emulatorCommandOptions({ apps: [app] });
        expect.unreachable(app);
      } catch (error) {
        expect(isEtlError(error, 'USAGE')).toBe(true);
      }
    }
  });
});
