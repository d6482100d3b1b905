/**
 * BigInteger values beyond 2^53 keep their exact digits through `bulk`: the replica JSON of
 * createReplica (streamed from the downloaded file, two layers with different fields) and the
 * GeoJSON of an item export, written to GeoJSONSeq and GeoJSON; and the parsers by layer of a
 * downloaded replica file, GeoJSON document and GeoJSON zip.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipFiles } from '../../src/emulator/replica/zip.js';
import type { EmulatorHandle, LayerSpec } from '../../src/emulator/types.js';
import { bigIntegerJsonParser } from '../../src/features/big-integers.js';
import { bulkExport } from '../../src/features/bulk/bulk.js';
import { parseDownload } from '../../src/features/bulk/parse.js';
import { BIG, bigTexts } from '../fixtures/big-integers.js';
import { bulkRig, startSecured, tempDir } from './helpers.js';

const COUNT = 25;

const layer = (id: number, name: string, extra: Partial<LayerSpec>): LayerSpec => ({
  service: 'Values',
  id,
  name,
  generate: { count: COUNT, geometry: 'point', seed: 3 + id },
  maxRecordCount: 10,
  ...extra,
});

let emu: EmulatorHandle;
let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  emu = await startSecured({
    layers: [
      layer(0, 'Big', { extraFields: [{ name: 'big', type: 'esriFieldTypeBigInteger', values: BIG }] }),
      // a field of the same name, a Double: parsed as JSON.parse parses it
      layer(1, 'Other', {
        extraFields: [{ name: 'big', type: 'esriFieldTypeDouble', values: [0.1, 1.5] }],
      }),
    ],
  });
  tmp = await tempDir('arcgis-etl-bulk-big-');
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

const expected = Array.from({ length: COUNT }, (_, row) => BIG[row % BIG.length] ?? 'null');

let n = 0;
async function bulk(options: Partial<Parameters<typeof bulkExport>[0]>, ext: string) {
  const dir = join(tmp.dir, `out-${++n}`);
  await mkdir(dir);
  const rig = bulkRig(emu);
  try {
    const stats = await bulkExport({
      client: rig.client,
      serviceUrl: `${emu.restUrl}/services/Values/FeatureServer`,
      output: `${dir}/`,
      format: ext === 'geojson' ? 'geojson' : 'geojsonseq',
      poll: { initialDelayMs: 1, maxDelayMs: 1 },
      runtime: { sleep: async () => {} },
      ...options,
    });
    expect(stats.features).toBe(2 * COUNT);
    return {
      big: await readFile(join(dir, `Big.${ext}`), 'utf8'),
      other: await readFile(join(dir, `Other.${ext}`), 'utf8'),
    };
  } finally {
    await rig.close();
  }
}

describe('bulk keeps BigInteger digits', () => {
  for (const ext of ['geojsonl', 'geojson'] as const) {
    it(`replica JSON → ${ext}: exact digits in the BigInteger layer only`, async () => {
      const { big, other } = await bulk({ via: 'replica', serverFormat: 'json' }, ext);
      expect(bigTexts(big)).toEqual(expected);
      expect(bigTexts(other).slice(0, 2)).toEqual(['0.1', '1.5']);
    });
  }

  it('item export (GeoJSON) → geojsonl: exact digits', async () => {
    const { big } = await bulk(
      { via: 'item', portalUrl: emu.portalUrl, serverFormat: 'geojson' },
      'geojsonl',
    );
    expect(bigTexts(big)).toEqual(expected);
  });

  it('parseDownload: a replica file, a GeoJSON file and a GeoJSON zip use the parser given', async () => {
    const dir = join(tmp.dir, 'parse');
    await mkdir(dir);
    const replica = join(dir, 'replica.json');
    await writeFile(
      replica,
      '{"layers":[{"id":0,"features":[{"attributes":{"OBJECTID":1,"big":9007199254740993}}]},' +
        '{"id":1,"features":[{"attributes":{"OBJECTID":1,"big":9007199254740993}}]}]}',
    );
    const exact = bigIntegerJsonParser(new Set(['big']));
    const datasets = await parseDownload(replica, dir, (id) => (id === 0 ? exact : JSON.parse));
    const first = async (i: number, from = datasets) => {
      for await (const f of from[i]!.features) return f.attributes.big;
      return undefined;
    };
    expect(await first(0)).toBe(9007199254740993n);
    expect(await first(1)).toBe(9007199254740992);
    const geojson = Buffer.from(
      '{"type":"FeatureCollection","features":[{"type":"Feature","id":1,"geometry":null,"properties":{"big":-9223372036854775807}}]}',
    );
    const document = join(dir, 'doc.geojson');
    await writeFile(document, geojson);
    expect(await first(0, await parseDownload(document, dir, () => exact))).toBe(-9223372036854775807n);
    const zip = join(dir, 'doc.zip');
    await writeFile(zip, zipFiles([{ name: 'doc.geojson', data: geojson }]));
    expect(await first(0, await parseDownload(zip, dir, () => exact))).toBe(-9223372036854775807n);
  });
});
