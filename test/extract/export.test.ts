/**
 * exportLayer options: where, fields, stdout, progress, and a page that fails even alone.
 */

import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { type ExportProgress, exportLayer } from '../../src/features/export.js';
import { claimOutput } from '../../src/features/output-claim.js';
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

function totalRequests(): number {
  return Object.values(emu.stats().requests).reduce((a, b) => a + b, 0);
}

describe('the output is checked and claimed before any request', () => {
  it('refuses a folder, a missing folder and an existing file (USAGE) with no request made', async () => {
    const r = rig(emu);
    const folder = tmp.path('exports');
    await mkdir(folder);
    const existing = tmp.path('existing.geojson');
    await writeFile(existing, 'keep me');
    emu.resetStats();
    const cases: [string, RegExp][] = [
      [folder, /is a folder/],
      [tmp.path('missing/out.geojson'), /does not exist/],
      [existing, /already exists: pass --overwrite/],
    ];
    for (const [output, message] of cases) {
      const error = await exportLayer({
        client: r.client,
        layerUrl: emu.layerUrl('Points'),
        output,
        format: 'geojson',
      }).catch((e: unknown) => e);
      expect(isEtlError(error, 'USAGE'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
    expect(totalRequests()).toBe(0);
    expect(await readFile(existing, 'utf8')).toBe('keep me');
    // nothing left beside the folder (no exports.partial)
    expect((await readdir(tmp.path('.'))).filter((n) => n.startsWith('exports.'))).toEqual([]);
    // overwrite replaces it
    const stats = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Points'),
      output: existing,
      format: 'geojson',
      overwrite: true,
    });
    expect(JSON.parse(await readFile(existing, 'utf8')).features).toHaveLength(stats.features);
    await r.close();
  });

  it("one export per output: a held lock is OUTPUT_BUSY at once; a dead holder's lock is broken", async () => {
    const r = rig(emu);
    const output = tmp.path('owned.geojson');
    const claim = await claimOutput(output);
    expect(JSON.parse(await readFile(`${output}.lock`, 'utf8'))).toMatchObject({
      pid: process.pid,
      host: hostname(),
    });
    emu.resetStats();
    const error = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Points'),
      output,
      format: 'geojson',
    }).catch((e: unknown) => e);
    expect(isEtlError(error, 'OUTPUT_BUSY'), String(error)).toBe(true);
    expect((error as Error).message).toContain(`pid ${process.pid}`);
    expect(totalRequests()).toBe(0);
    await claim.release();
    expect(existsSync(`${output}.lock`)).toBe(false);

    // a lock left by a process that is gone (same host) does not block
    await writeFile(
      `${output}.lock`,
      JSON.stringify({ pid: 2 ** 22 + 4321, host: hostname(), at: Date.now(), owner: 'gone' }),
    );
    await exportLayer({ client: r.client, layerUrl: emu.layerUrl('Points'), output, format: 'geojson' });
    expect(existsSync(output)).toBe(true);
    expect(existsSync(`${output}.lock`)).toBe(false);
    await r.close();
  });
});

describe('what killed runs left beside the output', () => {
  it('partial and checkpoint temp files of earlier runs are removed once the lock is held; others stay', async () => {
    const r = rig(emu);
    const output = tmp.path('orphans.geojson');
    const orphans = [
      'orphans.geojson.0123456789ab.partial',
      'orphans.geojson.checkpoint.json.a1b2c3d4e5f6.tmp',
    ];
    for (const name of orphans) await writeFile(tmp.path(name), 'left by a killed run');
    await writeFile(tmp.path('orphans.geojson.notes'), 'mine');
    await exportLayer({ client: r.client, layerUrl: emu.layerUrl('Points'), output, format: 'geojson' });
    const names = (await readdir(tmp.path('.'))).filter((n) => n.startsWith('orphans.'));
    expect(names.sort()).toEqual(['orphans.geojson', 'orphans.geojson.notes']);
    await r.close();
  });

  it('--resume keeps its own rules: it may replace an existing output', async () => {
    const r = rig(emu);
    const output = tmp.path('resumed-over.geojsonl');
    await writeFile(output, 'from an earlier run\n');
    const stats = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Points'),
      output,
      format: 'geojsonseq',
      resume: true,
    });
    expect((await readSeq(output)).length).toBe(stats.features);
    await r.close();
  });
});

describe('a pasted …/query?… URL', () => {
  it('honours where, outFields and outSR from the URL (path ending in /query maps to the layer)', async () => {
    const r = rig(emu);
    const out = tmp.path('pasted.geojsonl');
    const url = `${emu.layerUrl('Points')}/query?where=category%3D1&outFields=name,category&outSR=4326&f=json&returnGeometry=true&spatialRel=esriSpatialRelIntersects&geometry=&text=`;
    const stats = await exportLayer({ client: r.client, layerUrl: url, output: out, format: 'geojsonseq' });
    await r.close();
    const layer = emu.layer('Points');
    const expected = layer.objectIds().filter((oid) => layer.feature(oid)!.attributes.category === 1);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(layer.objectIds().length);
    const features = await readSeq(out);
    expect(features.map((f) => f.id)).toEqual(expected);
    for (const f of features) expect(Object.keys(f.properties).sort()).toEqual(['category', 'name']);
    expect(stats.features).toBe(expected.length);
  });

  it('honours resultRecordCount as a limit: the first features in OID order, with a checkpointed resume', async () => {
    const r = rig(emu);
    const layer = emu.layer('Points');
    const expected = layer
      .objectIds()
      .filter((oid) => oid > 10)
      .slice(0, 60);
    expect(expected).toHaveLength(60);
    for (const [name, extra] of [
      ['limit.geojsonl', {}],
      ['limit-resume.geojsonl', { resume: true, concurrency: 3 }],
    ] as const) {
      const out = tmp.path(name);
      const stats = await exportLayer({
        client: r.client,
        layerUrl: `${emu.layerUrl('Points')}/query?where=OBJECTID%3E10&resultRecordCount=60`,
        output: out,
        format: 'geojsonseq',
        ...extra,
      });
      expect(stats.features).toBe(60);
      expect((await readSeq(out)).map((f) => f.id)).toEqual(expected);
      expect((await readdir(tmp.path('.'))).filter((n) => n.startsWith(`${name}.`))).toEqual([]);
    }
    await r.close();
  });

  it('refuses parameters it cannot honour, and conflicts with options, before any request', async () => {
    const r = rig(emu);
    emu.resetStats();
    const base = emu.layerUrl('Points');
    const refused: [string, RegExp][] = [
      [
        `${base}/query?where=1%3D1&geometry=%7B%22x%22%3A1%2C%22y%22%3A2%7D&geometryType=esriGeometryPoint`,
        /geometry.*not supported/,
      ],
      [`${base}/query?orderByFields=name`, /orderByFields/],
      [`${base}/query?resultRecordCount=0`, /resultRecordCount=0: not a positive number/],
      [`${base}/query?token=abc123secret`, /credentials come from the environment/],
      [`${base}/query?objectIds=1,2`, /objectIds/],
      [`${base}/query?outSR=bogus`, /outSR/],
    ];
    for (const [layerUrl, message] of refused) {
      const error = await exportLayer({
        client: r.client,
        layerUrl,
        output: tmp.path('refused.geojson'),
        format: 'geojson',
      }).catch((e: unknown) => e);
      expect(isEtlError(error, 'USAGE'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain('abc123secret');
    }
    const conflicts: [Partial<Parameters<typeof exportLayer>[0]>, RegExp][] = [
      [{ where: 'category = 2' }, /--where/],
      [{ fields: ['name'] }, /--fields/],
      [{ outSR: 3857 }, /--out-sr/],
      [{ limit: 5 }, /resultRecordCount/],
    ];
    for (const [extra, message] of conflicts) {
      const error = await exportLayer({
        client: r.client,
        layerUrl: `${base}/query?where=category%3D1&outFields=category&outSR=4326&resultRecordCount=9`,
        output: tmp.path('conflict.geojson'),
        format: 'geojson',
        ...extra,
      }).catch((e: unknown) => e);
      expect(isEtlError(error, 'USAGE'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
    expect(totalRequests()).toBe(0);
    expect(existsSync(tmp.path('refused.geojson'))).toBe(false);
    await r.close();
  });
});
