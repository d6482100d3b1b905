/**
 * Fidelity: GDAL's ogr2ogr (ESRIJSON driver) reads secured emulated layers completely, paging by
 * itself with resultOffset when exceededTransferLimit is set.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { token, USER } from './helpers.js';

const run = promisify(execFile);

async function findOgr(): Promise<boolean> {
  try {
    await run('ogr2ogr', ['--version']);
    return true;
  } catch {
    return false;
  }
}

const hasOgr = await findOgr();
const onCi = process.env.CI === 'true';
if (!hasOgr && !onCi) {
  console.warn(
    '\n\n!!! ogr2ogr (GDAL) is not installed: the GDAL fidelity tests are SKIPPED (install gdal-bin) !!!\n\n',
  );
}

describe('ogr2ogr is available on CI', () => {
  it.runIf(onCi)('finds ogr2ogr', () => {
    expect(hasOgr, 'ogr2ogr must be installed on CI (gdal-bin)').toBe(true);
  });
});

describe.skipIf(!hasOgr)('GDAL ogr2ogr against the emulator', () => {
  let emu: EmulatorHandle;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emu-ogr-'));
    emu = await startEmulator({
      users: [USER],
      layers: [
        { service: 'Parcels', generate: { count: 1234, geometry: 'polygon', seed: 11 }, maxRecordCount: 300 },
        // dense OIDs: GDAL 3.6 reads esriFieldTypeOID as a 32-bit integer, so the sparse mode's
        // OIDs above 2^31-1 would be clamped by GDAL itself (a GDAL limit, not a paging problem)
        {
          service: 'Addresses',
          generate: { count: 2501, geometry: 'point', seed: 12, firstOid: 5000 },
          maxRecordCount: 1000,
        },
      ],
    });
  });
  afterAll(async () => {
    await emu.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function ogr(service: string, extra: string[] = []): Promise<number[]> {
    const { token: t } = await token(emu);
    const out = join(dir, `${service}-${extra.length}.geojson`);
    const url = `${emu.layerUrl(service)}/query?where=1=1&outFields=*&f=json&token=${t}`;
    await run('ogr2ogr', ['-f', 'GeoJSON', out, url, ...extra], { timeout: 60_000 });
    const doc = JSON.parse(await readFile(out, 'utf8')) as {
      features: { properties: Record<string, unknown>; geometry: unknown }[];
    };
    expect(doc.features.every((f) => f.geometry !== null)).toBe(true);
    const field = emu.layer(service).objectIdField;
    return doc.features.map((f) => Number(f.properties[field])).sort((a, b) => a - b);
  }

  for (const service of ['Parcels', 'Addresses']) {
    it(`exports every feature of ${service}`, async () => {
      emu.resetStats();
      const layer = emu.layer(service);
      expect(await ogr(service)).toEqual([...layer.objectIds()]);
      const pageSize = (layer.metadata().maxRecordCount as number) ?? 1000;
      expect(emu.stats().requests.query).toBeGreaterThanOrEqual(Math.ceil(layer.count / pageSize));
      expect(emu.stats().rejected).toEqual({ invalidToken: 0, tokenRequired: 0 });
    });
  }

  it('exports every feature with -oo FEATURE_SERVER_PAGING=YES', async () => {
    const layer = emu.layer('Parcels');
    expect(await ogr('Parcels', ['-oo', 'FEATURE_SERVER_PAGING=YES'])).toEqual([...layer.objectIds()]);
  });
});
