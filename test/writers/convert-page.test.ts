import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EtlError } from '../../src/core/errors.js';
import type { GeoJSONFeature } from '../../src/features/geometry/types.js';
import { createWriter } from '../../src/features/writers/writer.js';
import { f1, f2, f3, schema, tempDir } from './fixtures.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  tmp = await tempDir();
});
afterEach(async () => {
  await tmp.cleanup();
});

/** Source features standing for Esri ones: converted by looking them up. */
const sources = [{ oid: 1 }, { oid: 2 }, { oid: 3 }];
const byOid = new Map<number, GeoJSONFeature>([
  [1, f1],
  [2, f2],
  [3, f3],
]);

describe('writePage with a converter', () => {
  for (const format of ['geojson', 'geojsonseq', 'csv'] as const) {
    it(`writes the same bytes as converted pages (${format})`, async () => {
      const converted = await createWriter({ format, path: tmp.file(`a.${format}`), schema });
      await converted.writePage([f1, f2]);
      await converted.writePage([f3]);
      const bytesBeforeFooter = converted.bytesWritten;
      await converted.finish();

      const seen: number[] = [];
      const lazy = await createWriter({ format, path: tmp.file(`b.${format}`), schema });
      const convert = (s: { oid: number }) => {
        seen.push(s.oid);
        return byOid.get(s.oid)!;
      };
      await lazy.writePage(sources.slice(0, 2), convert);
      await lazy.writePage(sources.slice(2), convert);
      expect(lazy.featuresWritten).toBe(3);
      expect(lazy.bytesWritten).toBe(bytesBeforeFooter);
      await lazy.finish();

      expect(seen).toEqual([1, 2, 3]); // each feature converted once, in order
      expect(await readFile(tmp.file(`b.${format}`), 'utf8')).toBe(
        await readFile(tmp.file(`a.${format}`), 'utf8'),
      );
    });
  }

  it('rethrows a conversion error as is, writes nothing of that page and stays usable', async () => {
    const path = tmp.file('c.geojsonseq');
    const writer = await createWriter({ format: 'geojsonseq', path, schema });
    await writer.writePage([f1]);
    const bytes = writer.bytesWritten;
    const failure = new EtlError('UNSUPPORTED_GEOMETRY', 'true curves');
    const error = await writer
      .writePage(sources, (s) => {
        if (s.oid === 2) throw failure;
        return byOid.get(s.oid)!;
      })
      .catch((e: unknown) => e);
    expect(error).toBe(failure);
    expect(writer.bytesWritten).toBe(bytes);
    expect(writer.featuresWritten).toBe(1);
    await writer.writePage([f3]);
    await writer.finish();
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { id: number }).id)).toEqual([1, 3]);
  });

  it('still reports an encoder failure as OUTPUT_ERROR', async () => {
    const writer = await createWriter({ format: 'geojsonseq', path: tmp.file('d.geojsonseq'), schema });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const bad = { ...f1, properties: cyclic } as GeoJSONFeature;
    await expect(writer.writePage(sources, () => bad)).rejects.toMatchObject({ code: 'OUTPUT_ERROR' });
    await writer.abort();
  });
});
