import { describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import { describeEmulator, emulatorCommandOptions } from '../../src/emulator/cli.js';
import { serveEmulator } from '../../src/emulator/server.js';
import { stubLayer } from './helpers.js';

describe('emulatorCommandOptions', () => {
  it('maps flags to EmulatorOptions', () => {
    const options = emulatorCommandOptions({
      port: '8080',
      host: '127.0.0.1',
      data: 'examples/data',
      users: ['alice:pa:ss', 'bob:x'],
      tokenMinutes: '30',
      generate: ['parcels:polygon:50000', 'addresses:point:10:7'],
      maxRecordCount: '1000',
      faults: ['http503=0.05', 'reset=0.01'],
      faultScope: 'all',
      latencyMs: '5',
      ignoreResultOffset: true,
      seed: '9',
      clockOffsetMs: '-3000',
    });
    expect(options).toEqual({
      host: '127.0.0.1',
      port: 8080,
      dataDir: 'examples/data',
      users: [
        { username: 'alice', password: 'pa:ss' },
        { username: 'bob', password: 'x' },
      ],
      tokenMinutes: 30,
      layers: [
        {
          service: 'parcels',
          generate: { count: 50000, geometry: 'polygon', seed: 9 },
          maxRecordCount: 1000,
        },
        { service: 'addresses', generate: { count: 10, geometry: 'point', seed: 7 }, maxRecordCount: 1000 },
      ],
      seed: 9,
      clockOffsetMs: -3000,
      faults: { rates: { http503: 0.05, reset: 0.01 }, scope: 'all', latencyMs: 5, ignoreResultOffset: true },
    });
    expect(emulatorCommandOptions({})).toEqual({});
  });

  it('refuses malformed flags with USAGE errors', () => {
    for (const flags of [
      { users: ['nopassword'] },
      { generate: ['parcels:hexagon:10'] },
      { generate: ['parcels:point'] },
      { faults: ['gremlins=0.5'] },
      { faults: ['http503=2'] },
      { port: 'abc' },
      { faultScope: 'some' },
    ]) {
      try {
        emulatorCommandOptions(flags);
        expect.unreachable(JSON.stringify(flags));
      } catch (error) {
        expect(isEtlError(error, 'USAGE')).toBe(true);
      }
    }
  });
});

describe('describeEmulator', () => {
  it('lists server, token, portal, each layer and the control URL', async () => {
    const emu = await serveEmulator({}, [stubLayer('Parcels', 12), stubLayer('Roads', 3, 1)]);
    try {
      const origin = new URL(emu.url).origin;
      expect(describeEmulator(emu)).toEqual([
        `ArcGIS Server  ${origin}/arcgis/rest/services`,
        `Token URL      ${origin}/arcgis/tokens/generateToken`,
        `Portal         ${origin}/portal/sharing/rest`,
        `Layer          ${origin}/arcgis/rest/services/Parcels/FeatureServer/0  (12 features, esriGeometryPoint)`,
        `Layer          ${origin}/arcgis/rest/services/Roads/FeatureServer/1  (3 features, esriGeometryPoint)`,
        `Control        ${origin}/__emulator/stats`,
      ]);
    } finally {
      await emu.stop();
    }
  });
});
