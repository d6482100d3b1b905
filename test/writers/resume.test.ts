import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GeoJSONFeature } from '../../src/features/geometry/types.js';
import type { WriterCheckpoint, WriterFormat } from '../../src/features/writers/types.js';
import { createWriter } from '../../src/features/writers/writer.js';
import { manyPages, schema, tempDir } from './fixtures.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  tmp = await tempDir();
});
afterEach(async () => {
  await tmp.cleanup();
});

const pages = manyPages(6, 25);
const FORMATS: WriterFormat[] = ['geojson', 'geojsonseq', 'csv'];

async function uninterrupted(format: WriterFormat, path: string): Promise<Buffer> {
  const writer = await createWriter({ format, path, schema });
  for (const page of pages) await writer.writePage(page);
  await writer.finish();
  return readFile(path);
}

/** Writes pages [0, crashAfter) recording checkpoints, then more pages, then "crashes". */
async function crashedRun(
  format: WriterFormat,
  path: string,
  crashAfter: number,
): Promise<WriterCheckpoint & { tempPath: string }> {
  const writer = await createWriter({ format, path, schema });
  const tempPath = writer.tempPath!;
  let checkpoint: WriterCheckpoint = { bytes: writer.bytesWritten, features: writer.featuresWritten };
  for (let i = 0; i < pages.length; i++) {
    await writer.writePage(pages[i]!);
    // the checkpoint is saved only for pages before the crash point; later pages were written
    // but their checkpoint never made it to disk
    if (i < crashAfter) checkpoint = { bytes: writer.bytesWritten, features: writer.featuresWritten };
    if (i === crashAfter + 1) break;
  }
  await writer.abort({ keep: true });
  // a torn write at the end of the file
  await appendFile(tempPath, '{"type":"Feature","id":99999,"geom');
  return { ...checkpoint, tempPath };
}

describe('resume', () => {
  for (const format of FORMATS) {
    it.each([0, 1, 3])(
      `${format}: resumed after page %i, the output is byte-for-byte an uninterrupted run's`,
      async (crashAfter) => {
        const expected = await uninterrupted(format, tmp.file(`ref.${format}`));
        const path = tmp.file(`out.${format}`);
        const checkpoint = await crashedRun(format, path, crashAfter);
        expect(checkpoint.features).toBe(crashAfter * 25);

        const { tempPath } = checkpoint;
        const writer = await createWriter({ format, path, schema, resume: checkpoint, tempPath });
        expect(writer.bytesWritten).toBe(checkpoint.bytes);
        expect(writer.featuresWritten).toBe(checkpoint.features);
        for (const page of pages.slice(checkpoint.features / 25)) await writer.writePage(page);
        await writer.finish();
        const actual = await readFile(path);
        expect(actual.equals(expected)).toBe(true);
        expect(writer.bytesWritten).toBe(expected.length);
      },
    );
  }

  it('refuses a checkpoint beyond the end of the partial file', async () => {
    const path = tmp.file('out.geojsonl');
    const checkpoint = await crashedRun('geojsonseq', path, 2);
    await writeFile(checkpoint.tempPath, 'short\n');
    await expect(
      createWriter({ format: 'geojsonseq', path, schema, resume: checkpoint, tempPath: checkpoint.tempPath }),
    ).rejects.toMatchObject({
      code: 'CHECKPOINT_INVALID',
    });
  });

  it('refuses a checkpoint that does not fall on a page boundary', async () => {
    const path = tmp.file('out.geojson');
    const checkpoint = await crashedRun('geojson', path, 2);
    await expect(
      createWriter({
        format: 'geojson',
        path,
        schema,
        resume: { ...checkpoint, bytes: checkpoint.bytes - 3 },
        tempPath: checkpoint.tempPath,
      }),
    ).rejects.toMatchObject({ code: 'CHECKPOINT_INVALID' });
    await expect(
      createWriter({
        format: 'geojson',
        path,
        schema,
        resume: { bytes: 10, features: 0 },
        tempPath: checkpoint.tempPath,
      }),
    ).rejects.toMatchObject({ code: 'CHECKPOINT_INVALID' });
    // the partial file is left as it was, for another try
    expect((await readFile(checkpoint.tempPath)).length).toBeGreaterThan(checkpoint.bytes);
  });

  it('refuses to resume without a partial file', async () => {
    await expect(
      createWriter({
        format: 'csv',
        path: tmp.file('none.csv'),
        schema,
        resume: { bytes: 100, features: 2 },
        tempPath: tmp.file('none.csv.partial'),
      }),
    ).rejects.toMatchObject({ code: 'CHECKPOINT_INVALID' });
    // and without the name of the interrupted run's partial file
    await expect(
      createWriter({
        format: 'csv',
        path: tmp.file('none.csv'),
        schema,
        resume: { bytes: 100, features: 2 },
      }),
    ).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('a checkpoint of zero bytes starts afresh', async () => {
    const path = tmp.file('out.geojson');
    await writeFile(`${path}.partial`, 'garbage');
    const writer = await createWriter({ format: 'geojson', path, schema, resume: { bytes: 0, features: 0 } });
    const page: GeoJSONFeature[] = pages[0]!;
    await writer.writePage(page);
    await writer.finish();
    expect(JSON.parse(await readFile(path, 'utf8')).features).toHaveLength(25);
  });

  it('refuses to resume stdout', async () => {
    await expect(
      createWriter({ format: 'geojsonseq', path: '-', schema, resume: { bytes: 10, features: 1 } }),
    ).rejects.toMatchObject({ code: 'USAGE' });
  });
});
