/**
 * `arcgis-etl demo`, the README's first command, works every time: a second run replaces the
 * demo's own sample output instead of refusing it.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TempDir, tempDir } from '../extract/helpers.js';
import { runBin } from './run-bin.js';

let tmp: TempDir;
beforeAll(async () => {
  tmp = await tempDir('arcgis-etl-demo-');
});
afterAll(async () => {
  await tmp?.remove();
});

describe('demo', () => {
  it('runs twice in a row, each time writing every feature of the sample layer', async () => {
    const dir = tmp.path('out');
    for (let run = 0; run < 2; run++) {
      const r = await runBin(['demo', '--count', '300', '--dir', dir, '--quiet']);
      expect(r.code, r.stderr).toBe(0);
      const lines = (await readFile(`${dir}/parcels.geojsonseq`, 'utf8')).split('\n').filter(Boolean);
      expect(lines).toHaveLength(300);
    }
  }, 60_000);
});
