/**
 * exportLayer options: where, fields, stdout, progress, and a page that fails even alone.
 */

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { type ExportProgress, exportLayer } from '../../src/features/export.js';
import { pointLayer, readSeq, rig, startSecured, tempDir } from './helpers.js';

let emu: EmulatorHandle;
let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  emu = await startSecured({ layers: [pointLayer('Points', 110)] });
  tmp = await tempDir();
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

describe('exportLayer', () => {
  it('applies where and fields (the OID stays the feature id), reports progress', async () => {
    const r = rig(emu);
    const out = tmp.path('filtered.geojsonl');
    const progress: ExportProgress[] = [];
    const stats = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Points'),
      output: out,
      format: 'geojsonseq',
      where: 'category = 3 OR category = 4',
      fields: ['name'],
      onProgress: (p) => progress.push(p),
    });
    await r.close();
    const features = await readSeq(out);
    const layer = emu.layer('Points');
    const expected = layer
      .objectIds()
      .filter((oid) => [3, 4].includes(layer.feature(oid)!.attributes.category as number));
    expect(features.map((f) => f.id)).toEqual(expected);
    for (const f of features) expect(Object.keys(f.properties)).toEqual(['name']);
    expect(stats.features).toBe(expected.length);
    expect(progress.at(-1)).toMatchObject({
      features: expected.length,
      total: expected.length,
      pages: stats.pages,
    });
    expect(progress.map((p) => p.pages)).toEqual(progress.map((_, i) => i + 1));
  });

  it('writes to a stream with output "-"', async () => {
    const r = rig(emu);
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Points'),
      output: '-',
      format: 'geojsonseq',
      stream,
    });
    const file = tmp.path('same.geojsonl');
    await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Points'),
      output: file,
      format: 'geojsonseq',
    });
    await r.close();
    expect(Buffer.concat(chunks).toString()).toBe(await readFile(file, 'utf8'));
  });

  it('a feature that fails even alone is a clear EXTRACTION_INCOMPLETE, after splitting down to it', async () => {
    emu.setFaults({ failAbove: 0 });
    const r = rig(emu);
    const out = tmp.path('fails.geojsonl');
    const error = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Points'),
      output: out,
      format: 'geojsonseq',
      strategy: 'ids',
      pageRetries: 1,
      concurrency: 1,
    }).catch((e: unknown) => e);
    emu.setFaults({});
    await r.close();
    expect(isEtlError(error, 'EXTRACTION_INCOMPLETE')).toBe(true);
    expect((error as Error).message).toMatch(/Feature OBJECTID=1 keeps failing .* even alone/);
    expect(existsSync(out)).toBe(false);
    // 25 → 13 → 7 → 4 → 2 → 1: each tried twice (pageRetries 1)
    expect(emu.stats().requests.query).toBeGreaterThanOrEqual(12);
  });

  it('rejects bad options before any request', async () => {
    const r = rig(emu);
    const base = { client: r.client, layerUrl: emu.layerUrl('Points'), output: tmp.path('x.json') };
    const bad = [
      { ...base, format: 'shp' as never },
      { ...base, format: 'geojson' as const, concurrency: 0 },
      { ...base, format: 'geojson' as const, strategy: 'bogus' as never },
      { ...base, format: 'geojson' as const, fields: ['no such field'] },
    ];
    for (const options of bad) {
      const error = await exportLayer(options).catch((e: unknown) => e);
      expect(isEtlError(error, 'USAGE')).toBe(true);
    }
    expect(existsSync(base.output)).toBe(false);
    await r.close();
  });
});
