/**
 * GeoParquet writer: every geometry kind (with Z, null geometries, holes, multipart), unicode,
 * dates, nulls and 64-bit integers, read back by hyparquet (a reader we did not write); the `geo`
 * metadata checked against the GeoParquet 1.1.0 JSON schema; one row group per page; resume by
 * row group gives the same bytes as an uninterrupted run.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import type { WriterCheckpoint } from '../../src/features/writers/types.js';
import { createWriter } from '../../src/features/writers/writer.js';
import { tempDir } from '../writers/fixtures.js';
import { features, type Kind, layerSchema, promotedGeometry } from './fixtures.js';
import { geoSchemaErrors } from './geo-schema.js';
import { readParquet } from './parquet-read.js';
import { readWkb } from './wkb-read.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  tmp = await tempDir();
});
afterEach(async () => {
  await tmp.cleanup();
});

const KINDS: Kind[] = ['point', 'multipoint', 'polyline', 'polygon'];

function expectedBig(v: unknown): unknown {
  return v === null ? null : BigInt(v as number | bigint);
}

describe('GeoParquet writer', () => {
  for (const kind of KINDS) {
    for (const hasZ of [false, true]) {
      it(`${kind}${hasZ ? ' Z' : ''}: hyparquet reads back every row, value and geometry; geo metadata is valid 1.1.0`, async () => {
        const path = tmp.file(`${kind}.parquet`);
        const source = features(kind, hasZ, 45);
        const writer = await createWriter({ format: 'parquet', path, schema: layerSchema(kind, hasZ) });
        for (const page of [source.slice(0, 20), source.slice(20, 40), source.slice(40)])
          await writer.writePage(page);
        await writer.finish();
        const { metadata, geo, rows } = await readParquet(path);

        expect(metadata.row_groups.map((g) => Number(g.num_rows))).toEqual([20, 20, 5]);
        expect(metadata.schema.map((s) => s.name)).toEqual([
          'schema',
          'OBJECTID',
          'name',
          'small',
          'count',
          'big',
          'value',
          'created',
          'guid',
          'geometry',
          'bbox',
          'xmin',
          'ymin',
          'xmax',
          'ymax',
        ]);
        expect(rows).toHaveLength(source.length);
        for (const [i, row] of rows.entries()) {
          const p = source[i]!.properties;
          expect(row.OBJECTID).toBe(BigInt(p.OBJECTID as number));
          expect(row.name).toBe(p.name);
          expect(row.small).toBe(p.small);
          expect(row.count).toBe(p.count);
          expect(row.big).toBe(expectedBig(p.big));
          expect(row.value).toBe(p.value);
          expect(row.created === null ? null : (row.created as Date).getTime()).toBe(p.created);
          expect(row.guid).toBe(p.guid);
          const g = source[i]!.geometry;
          if (g === null) {
            expect(row.geometry ?? null).toBeNull();
            expect(row.bbox ?? null).toBeNull();
          } else {
            // hyparquet decodes the WKB of a GeoParquet geometry column itself (else: our own test decoder)
            const decoded = row.geometry instanceof Uint8Array ? readWkb(row.geometry) : row.geometry;
            expect(decoded).toEqual(promotedGeometry(g));
            const xs = JSON.stringify(g.coordinates)
              .match(/-?[\d.]+(?:e-?\d+)?/g)!
              .map(Number);
            const box = row.bbox as { xmin: number; ymin: number; xmax: number; ymax: number };
            expect(box.xmin).toBeLessThanOrEqual(box.xmax);
            expect(xs).toContain(box.xmin);
            expect(xs).toContain(box.ymax);
          }
        }

        expect(geoSchemaErrors(geo)).toEqual([]);
        const column = (geo!.columns as Record<string, Record<string, unknown>>).geometry!;
        const base = {
          point: 'Point',
          multipoint: 'MultiPoint',
          polyline: 'MultiLineString',
          polygon: 'MultiPolygon',
        }[kind];
        expect(column.geometry_types).toEqual([hasZ ? `${base} Z` : base]);
        expect(column.encoding).toBe('WKB');
        expect((column.crs as { id: unknown }).id).toEqual({ authority: 'OGC', code: 'CRS84' });
        expect(column.covering).toEqual({
          bbox: {
            xmin: ['bbox', 'xmin'],
            ymin: ['bbox', 'ymin'],
            xmax: ['bbox', 'xmax'],
            ymax: ['bbox', 'ymax'],
          },
        });
        const boxes = rows
          .filter((r) => (r.bbox ?? null) !== null)
          .map((r) => r.bbox as { xmin: number; ymin: number; xmax: number; ymax: number });
        expect(column.bbox).toEqual([
          Math.min(...boxes.map((b) => b.xmin)),
          Math.min(...boxes.map((b) => b.ymin)),
          Math.max(...boxes.map((b) => b.xmax)),
          Math.max(...boxes.map((b) => b.ymax)),
        ]);
        // published: no temp or side file left
        expect(await readdir(tmp.dir)).toEqual([`${kind}.parquet`]);
      });
    }
  }

  it('EPSG:3857 gets its PROJJSON; an unknown wkid is refused before anything is written', async () => {
    const path = tmp.file('m.parquet');
    const writer = await createWriter({
      format: 'parquet',
      path,
      schema: layerSchema('point', false),
      parquet: { wkid: 102100 },
    });
    await writer.writePage(features('point', false, 3));
    await writer.finish();
    const { geo } = await readParquet(path);
    expect(geoSchemaErrors(geo)).toEqual([]);
    const crs = (geo!.columns as Record<string, Record<string, unknown>>).geometry!.crs as { id: unknown };
    expect(crs.id).toEqual({ authority: 'EPSG', code: 3857 });

    const refused = await createWriter({
      format: 'parquet',
      path: tmp.file('x.parquet'),
      schema: layerSchema('point', false),
      parquet: { wkid: 2230 },
    }).catch((e: unknown) => e);
    expect(isEtlError(refused) && refused.code).toBe('USAGE');
    expect((refused as Error).message).toMatch(/wkid 4326 and 3857 only \(not 2230\)/);
    expect((await readdir(tmp.dir)).sort()).toEqual(['m.parquet']);
  });

  it('compression: snappy by default, none on request; zstd on every Node (its own zstd, else WebAssembly), read back', async () => {
    const plain = tmp.file('none.parquet');
    const w = await createWriter({
      format: 'parquet',
      path: plain,
      schema: layerSchema('polygon', false),
      parquet: { compression: 'none' },
    });
    await w.writePage(features('polygon', false, 10));
    await w.finish();
    const snappy = tmp.file('snappy.parquet');
    const s = await createWriter({ format: 'parquet', path: snappy, schema: layerSchema('polygon', false) });
    await s.writePage(features('polygon', false, 10));
    await s.finish();
    const codecs = async (p: string) =>
      new Set(
        (await readParquet(p)).metadata.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec)),
      );
    expect(await codecs(plain)).toEqual(new Set(['UNCOMPRESSED']));
    expect(await codecs(snappy)).toEqual(new Set(['SNAPPY']));
    expect((await readParquet(snappy)).rows).toHaveLength(10);
    const zstd = tmp.file('z.parquet');
    const z = await createWriter({
      format: 'parquet',
      path: zstd,
      schema: layerSchema('polygon', false),
      parquet: { compression: 'zstd' },
    });
    const source = features('polygon', false, 10);
    await z.writePage(source);
    await z.finish();
    expect(await codecs(zstd)).toEqual(new Set(['ZSTD']));
    const plainRows = (await readParquet(plain)).rows;
    expect((await readParquet(zstd)).rows).toEqual(plainRows);
  });

  it('zstd through WebAssembly (what Node 20 uses) makes pages any zstd reader decompresses', async () => {
    const { compressorsFor } = await import('../../src/outputs/parquet/compression.js');
    const { compressors: readers } = await import('hyparquet-compressors');
    const decompress = (bytes: Uint8Array, length: number) => readers.ZSTD!(bytes, length);
    const wasm = (await compressorsFor('zstd', 'wasm'))!.ZSTD!;
    const page = new TextEncoder().encode('GeoParquet page '.repeat(5000));
    const packed = wasm(page);
    expect(packed.length).toBeLessThan(page.length / 10);
    expect(Buffer.compare(decompress(packed, page.length), page)).toBe(0);
    expect(decompress(wasm(new Uint8Array(0)), 0)).toHaveLength(0);
    expect(await compressorsFor('snappy')).toBeUndefined();
  });

  it('resume by row group: a partial file with a row group past the checkpoint is cut back, and the result equals an uninterrupted run byte for byte', async () => {
    const schema = layerSchema('polygon', true);
    const source = features('polygon', true, 60);
    const pages = [source.slice(0, 20), source.slice(20, 40), source.slice(40)];
    const reference = tmp.file('reference.parquet');
    const ref = await createWriter({ format: 'parquet', path: reference, schema });
    for (const page of pages) await ref.writePage(page);
    await ref.finish();

    const path = tmp.file('resumed.parquet');
    const first = await createWriter({ format: 'parquet', path, schema });
    await first.writePage(pages[0]!);
    const checkpoint: WriterCheckpoint = { bytes: first.bytesWritten, features: first.featuresWritten };
    // the second page was written, but the run died before its checkpoint
    await first.writePage(pages[1]!);
    await first.abort({ keep: true });
    const temp = first.tempPath!;

    const second = await createWriter({
      format: 'parquet',
      path,
      schema,
      resume: checkpoint,
      tempPath: temp,
    });
    expect(second.featuresWritten).toBe(20);
    await second.writePage(pages[1]!);
    await second.writePage(pages[2]!);
    await second.finish();
    expect(Buffer.compare(await readFile(path), await readFile(reference))).toBe(0);
    expect((await readdir(tmp.dir)).sort()).toEqual(['reference.parquet', 'resumed.parquet']);
  });

  it('a checkpoint that ends no row group of the partial file is CHECKPOINT_INVALID', async () => {
    const path = tmp.file('p.parquet');
    const schema = layerSchema('point', false);
    const w = await createWriter({ format: 'parquet', path, schema });
    await w.writePage(features('point', false, 10));
    const bytes = w.bytesWritten;
    await w.abort({ keep: true });
    for (const resume of [
      { bytes: bytes - 1, features: 10 },
      { bytes, features: 9 },
    ]) {
      const error = await createWriter({
        format: 'parquet',
        path,
        schema,
        resume,
        tempPath: w.tempPath,
      }).catch((e: unknown) => e);
      expect(isEtlError(error) && error.code).toBe('CHECKPOINT_INVALID');
    }
    await writeFile(`${w.tempPath!}-rowgroups`, 'not json\n');
    const damaged = await createWriter({
      format: 'parquet',
      path,
      schema,
      resume: { bytes, features: 10 },
      tempPath: w.tempPath,
    }).catch((e: unknown) => e);
    expect(isEtlError(damaged) && damaged.code).toBe('CHECKPOINT_INVALID');
  });
});
