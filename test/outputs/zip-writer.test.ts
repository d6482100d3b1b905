/**
 * The zip of a .shp.zip: entries deflated while their files were written, each header joined as a
 * stored block, written by hand (zip-writer.ts). Checked by Info-ZIP's `unzip` (it tests every
 * entry's CRC and size, and extracts the bytes), not by our own reading.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DeflatedCopy, storedBlock } from '../../src/outputs/common/deflated-copy.js';
import { deflatedEntry, writeZip } from '../../src/outputs/common/zip-writer.js';
import { ZipPartFile } from '../../src/outputs/shapefile/part-file.js';
import { tempDirEachTest } from './read-back.js';

const run = promisify(execFile);

const tmp = tempDirEachTest();

async function unzipped(zip: string, name: string): Promise<Buffer> {
  const { stdout } = await run('unzip', ['-p', zip, name], { encoding: 'buffer', maxBuffer: 64 << 20 });
  return stdout;
}

/** A file body written in chunks, its header known only at the end, as a Shapefile part's. */
async function partEntry(name: string, header: Buffer, chunks: readonly Buffer[]) {
  const file = new ZipPartFile(tmp.file(`${name}.deflate`));
  for (const chunk of chunks) await file.append(chunk);
  return file.finish(name, header);
}

describe('zip-writer', () => {
  for (const forceZip64 of [false, true]) {
    it(`unzip tests and extracts every entry${forceZip64 ? ' (ZIP64 records)' : ''}`, async () => {
      // incompressible and compressible bodies, an empty one, a header of a DBF's size
      const noise = [randomBytes(100_000), randomBytes(300_001)];
      const spaces = [Buffer.alloc(1_000_000, 0x20), Buffer.from('end')];
      const headers = [randomBytes(100), randomBytes(1_057), randomBytes(100)];
      const entries = [
        deflatedEntry('a.cpg', Buffer.from('UTF-8')),
        deflatedEntry('ünïcødé.prj', Buffer.from('GEOGCS["GCS_WGS_1984"]')),
        await partEntry('a.dbf', headers[1]!, spaces),
        await partEntry('a.shx', headers[2]!, []),
        await partEntry('a.shp', headers[0]!, noise),
      ];
      const zip = tmp.file('out.shp.zip');
      await writeZip(zip, entries, { mode: 0o640, forceZip64 });

      const test = await run('unzip', ['-t', zip]);
      expect(test.stdout).toMatch(/No errors detected/);
      expect(await unzipped(zip, 'a.cpg')).toEqual(Buffer.from('UTF-8'));
      expect((await unzipped(zip, 'ünïcødé.prj')).toString()).toBe('GEOGCS["GCS_WGS_1984"]');
      expect(await unzipped(zip, 'a.dbf')).toEqual(Buffer.concat([headers[1]!, ...spaces]));
      expect(await unzipped(zip, 'a.shx')).toEqual(headers[2]);
      expect(await unzipped(zip, 'a.shp')).toEqual(Buffer.concat([headers[0]!, ...noise]));
      // names in order, and the mode of each entry
      const list = await run('zipinfo', [zip]);
      const lines = list.stdout.split('\n').filter((l) => l.startsWith('-'));
      expect(lines.map((l) => l.split(/\s+/).pop())).toEqual([
        'a.cpg',
        'ünïcødé.prj',
        'a.dbf',
        'a.shx',
        'a.shp',
      ]);
      for (const line of lines) expect(line.startsWith('-rw-r-----')).toBe(true);
    });
  }

  it('a stored block holds at most 65,535 bytes', () => {
    expect(storedBlock(Buffer.alloc(65_535)).length).toBe(65_540);
    expect(() => storedBlock(Buffer.alloc(65_536))).toThrow(RangeError);
  });

  it('the copy waits for zlib when it falls behind, and reports what it wrote', async () => {
    const copy = new DeflatedCopy(tmp.file('big.deflate'));
    const chunk = randomBytes(1 << 20);
    for (let i = 0; i < 8; i++) await copy.write(chunk);
    const body = await copy.end();
    expect(body.size).toBe(8 << 20);
    expect(body.compressedSize).toBeGreaterThan(8 << 20); // random bytes do not shrink
  });

  it('a copy that cannot be written is an OUTPUT_ERROR naming the file', async () => {
    const copy = new DeflatedCopy(tmp.file('missing-folder/x.deflate'));
    await expect(copy.end()).rejects.toMatchObject({
      code: 'OUTPUT_ERROR',
      message: /Cannot write .*x\.deflate/,
    });
  });
});
