/**
 * `arcgis-etl bulk` in process against the emulator: a replica to a folder, an item export to a
 * file, and bad input answered with one `error [CODE]: …` line, an exit code and no output.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { runInProcess } from '../cli/in-process.js';
import { expectSameAsLayer, filesIn, readSeq, startSecured, tempDir, USER } from './helpers.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let emu: EmulatorHandle;
const env = { ARCGIS_USERNAME: USER.username, ARCGIS_PASSWORD: USER.password };
beforeAll(async () => {
  tmp = await tempDir('arcgis-etl-bulk-cli-');
  emu = await startSecured({
    layers: [
      { service: 'Parcels', generate: { count: 180, geometry: 'polygon', seed: 5 }, maxRecordCount: 50 },
      { service: 'Static', generate: { count: 10, geometry: 'point' }, capabilities: { sync: false } },
    ],
    jobs: { durationMs: 0 },
  });
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

let n = 0;
async function outDir(): Promise<string> {
  const dir = join(tmp.dir, `cli-${++n}`);
  await mkdir(dir);
  return dir;
}
/** The last line of stderr (before it: the plain-http warning and token events), checked to be the only error line. */
function said(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  expect(lines.filter((l) => l.startsWith('error')).length).toBeLessThanOrEqual(1);
  return lines.at(-1) ?? '';
}
const service = (name: string) => `${emu.restUrl}/services/${name}/FeatureServer`;

describe('arcgis-etl bulk', () => {
  it('a replica into a folder: one file per layer, the summary on stderr', async () => {
    const dir = await outDir();
    const r = await runInProcess(['bulk', service('Parcels'), '-o', `${dir}/`, '-f', 'geojsonseq'], { env });
    expect(said(r.stderr)).toMatch(
      /^bulk \(replica, json\): 180 features · .* Parcels 180 → .*Parcels\.geojsonl$/,
    );
    expect(r.code).toBe(0);
    expectSameAsLayer(emu, 'Parcels', await readSeq(join(dir, 'Parcels.geojsonl')));
  });

  it('an item export (shapefile) into a file, through the portal', async () => {
    const dir = await outDir();
    const out = join(dir, 'parcels.geojsonl');
    const r = await runInProcess(
      [
        'bulk',
        service('Parcels'),
        '-o',
        out,
        '--via',
        'item',
        '--server-format',
        'shapefile',
        '--portal',
        emu.portalUrl,
      ],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    expectSameAsLayer(emu, 'Parcels', await readSeq(out), { days: true });
  });

  it.each([
    [
      'an unknown item',
      ['--via', 'item', '--item-id', '0'.repeat(32), '--portal', 'PORTAL'],
      'Parcels',
      4,
      `error [ITEM_NOT_FOUND]: The item ${'0'.repeat(32)} does not exist or is not accessible to etl-user`,
    ],
    [
      'a layer without sync',
      [],
      'Static',
      2,
      /^error \[SYNC_NOT_ENABLED\]: .*Static\/FeatureServer is not sync-enabled .*use --via item, or export$/,
    ],
    [
      'an unknown layer',
      ['--layers', 'Nope'],
      'Parcels',
      4,
      /^error \[LAYER_NOT_FOUND\]: .* has no layer Nope .*$/,
    ],
  ])('%s: one line, nothing written', async (_name, extra, name, code, line) => {
    const dir = await outDir();
    const args = extra.map((a) => (a === 'PORTAL' ? emu.portalUrl : a));
    const r = await runInProcess(['bulk', service(name), '-o', `${dir}/`, ...args], { env });
    if (typeof line === 'string') expect(said(r.stderr)).toBe(line);
    else expect(said(r.stderr)).toMatch(line);
    expect(r.code).toBe(code);
    expect(await filesIn(dir)).toEqual([]);
  });

  it('a job failing on the server: one line, exit 1, nothing written', async () => {
    emu.setJobs({ durationMs: 0, fail: true });
    try {
      const dir = await outDir();
      const r = await runInProcess(['bulk', service('Parcels'), '-o', `${dir}/`], { env });
      expect(said(r.stderr)).toMatch(
        /^error \[JOB_FAILED\]: The createReplica job of .* failed on the server: its status is Failed$/,
      );
      expect(r.code).toBe(1);
      expect(await filesIn(dir)).toEqual([]);
    } finally {
      emu.setJobs({ durationMs: 0 });
    }
  });

  it('--help names every option', async () => {
    const r = await runInProcess(['bulk', '--help']);
    for (const option of [
      '--layers',
      '--via',
      '--item-id',
      '--server-format',
      '--keep-download',
      '--where',
    ]) {
      expect(r.stdout).toContain(option);
    }
  });
});

describe('arcgis-etl emulator --job-ms', () => {
  it('sets how long export jobs run', async () => {
    const { emulatorCommandOptions } = await import('../../src/emulator/cli.js');
    expect(emulatorCommandOptions({ jobMs: '90000' }).jobs).toEqual({ durationMs: 90_000 });
    expect(() => emulatorCommandOptions({ jobMs: '-1' })).toThrow(/--job-ms must be a non-negative number/);
  });
});
