import { readdir, readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WriterFormat } from '../../src/features/writers/types.js';
import { createWriter } from '../../src/features/writers/writer.js';
import { f1, f2, f3, fields, pages, schema, tempDir } from './fixtures.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  tmp = await tempDir();
});
afterEach(async () => {
  await tmp.cleanup();
});

async function writeAll(
  format: WriterFormat,
  name: string,
  ps = pages,
  s = schema,
  csvExcelSafe = false,
): Promise<string> {
  const path = tmp.file(name);
  const writer = await createWriter({ format, path, schema: s, csvExcelSafe });
  for (const page of ps) await writer.writePage(page);
  await writer.finish();
  const text = await readFile(path, 'utf8');
  expect(writer.bytesWritten).toBe(Buffer.byteLength(text));
  expect(writer.featuresWritten).toBe(ps.reduce((n, p) => n + p.length, 0));
  return text;
}

const j = (v: unknown) => JSON.stringify(v);

describe('exact output of each format', () => {
  it('geojson: a FeatureCollection with one feature per line', async () => {
    expect(await writeAll('geojson', 'out.geojson')).toBe(
      `{"type":"FeatureCollection","features":[\n${j(f1)},\n${j(f2)},\n${j(f3)}\n]}\n`,
    );
    expect(JSON.parse(await readFile(tmp.file('out.geojson'), 'utf8'))).toEqual({
      type: 'FeatureCollection',
      features: [f1, f2, f3],
    });
  });

  it('geojson with no features is a valid empty collection', async () => {
    const text = await writeAll('geojson', 'empty.geojson', [[], []]);
    expect(text).toBe('{"type":"FeatureCollection","features":[]}\n');
  });

  it('geojsonseq: one feature per line', async () => {
    expect(await writeAll('geojsonseq', 'out.geojsonl')).toBe(`${j(f1)}\n${j(f2)}\n${j(f3)}\n`);
    expect(await writeAll('geojsonseq', 'empty.geojsonl', [])).toBe('');
  });

  it('csv: header, RFC 4180 quoting, ISO dates, data as it came, WKT geometry', async () => {
    expect(await writeAll('csv', 'out.csv')).toBe(
      'OBJECTID,NAME,UPDATED,VALUE,geometry\r\n' +
        '1,"Main St, ""North""",2023-11-14T22:13:20.000Z,-5,"POLYGON ((0 0, 1 0, 1 1, 0 0))"\r\n' +
        `2,"=HYPERLINK(""http://x"")",,2.5,\r\n` +
        '3,"line1\nline2 é",1970-01-01T00:00:00.000Z,,POINT (-81.5 27.25)\r\n',
    );
  });

  it('csv with csvExcelSafe: formulas neutralised', async () => {
    expect(await writeAll('csv', 'safe.csv', pages, schema, true)).toBe(
      'OBJECTID,NAME,UPDATED,VALUE,geometry\r\n' +
        '1,"Main St, ""North""",2023-11-14T22:13:20.000Z,-5,"POLYGON ((0 0, 1 0, 1 1, 0 0))"\r\n' +
        `2,"'=HYPERLINK(""http://x"")",,2.5,\r\n` +
        '3,"line1\nline2 é",1970-01-01T00:00:00.000Z,,POINT (-81.5 27.25)\r\n',
    );
  });

  it('csv without a geometry type has no geometry column', async () => {
    const text = await writeAll('csv', 'table.csv', [[f2]], { fields });
    expect(text).toBe(`OBJECTID,NAME,UPDATED,VALUE\r\n2,"=HYPERLINK(""http://x"")",,2.5\r\n`);
  });

  it('leaves nothing but the target behind', async () => {
    await writeAll('csv', 'out.csv');
    expect(await readdir(tmp.dir)).toEqual(['out.csv']);
  });
});
