/**
 * A static token or API key is reported as what it is: taken as given, never "generated", and with
 * no invented expiry (the far-future sentinel used internally never reaches a user).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { runInProcess } from './in-process.js';

const KEY = 'AAPK-static-report-0001';
let emu: EmulatorHandle;
let dir: string;
beforeAll(async () => {
  emu = await startEmulator({
    apiKeys: [KEY],
    layers: [{ service: 'pts', generate: { count: 7, geometry: 'point', seed: 1 } }],
  });
  dir = await mkdtemp(join(tmpdir(), 'etl-static-'));
});
afterAll(async () => {
  await emu.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('static tokens and API keys in reports', () => {
  it('token: the source says static, the expiry is not invented', async () => {
    const r = await runInProcess(['token', emu.layerUrl('pts', 0)], { env: { ARCGIS_API_KEY: KEY } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Source      API key (ARCGIS_API_KEY), never refreshed');
    expect(r.stdout).toContain('Expires     not known');
    expect(r.stdout + r.stderr).not.toMatch(/275760|generated/);
    const json = await runInProcess(['token', emu.layerUrl('pts', 0), '--json'], {
      env: { ARCGIS_TOKEN: KEY },
    });
    expect(JSON.parse(json.stdout)).toMatchObject({ static: true, expiresAt: null });
  });

  it('export: a line says the key is used as given, and no token counts as generated', async () => {
    const out = join(dir, 'pts.geojsonseq');
    const r = await runInProcess(['export', emu.layerUrl('pts', 0), '-o', out], {
      env: { ARCGIS_API_KEY: KEY },
      cwd: dir,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('token: using the API key (ARCGIS_API_KEY) as given, never refreshed');
    expect(r.stderr).toContain('0 tokens generated');
    expect(r.stderr).not.toMatch(/275760|token: generated/);
  });
});
