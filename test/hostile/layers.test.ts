/**
 * Hostile layers: invalid layer URLs, metadata without `fields` or an object id field, empty
 * geometries, odd object ids, and spreadsheet formulas in CSV cells.
 */
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../writers/parse-csv.js';
import { codeChain, expectFailedExport, runExport, type TempDir, tempDir } from './helpers.js';
import {
  fakeLayer,
  LAYER_PATH,
  layerMetadata,
  OID_FIELD,
  rawFeature,
  type Scripted,
  scriptedServer,
  sendBytes,
  sendJson,
} from './servers.js';

let dir: TempDir;
let server: Scripted | undefined;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(() => dir.remove());
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(handler: Parameters<typeof scriptedServer>[0]): Promise<Scripted> {
  server = await scriptedServer(handler);
  return server;
}

interface Feature {
  id: number;
  geometry: unknown;
  properties: Record<string, unknown>;
}

async function readSeq(path: string): Promise<Feature[]> {
  return (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Feature);
}

const point = (oid: number | string, geometry: string, name = `n${oid}`) =>
  rawFeature(
    Number(oid),
    `{"attributes":{"OBJECTID":${oid},"NAME":${JSON.stringify(name)}},"geometry":${geometry}}`,
  );

describe('invalid layer URLs', () => {
  it('not a URL at all: INVALID_URL before any request', async () => {
    await expectFailedExport({ url: 'not a url', output: dir.path('x.geojsonseq') }, 'INVALID_URL');
    await expectFailedExport(
      { url: 'ftp://host/arcgis/rest/services/A/FeatureServer/0', output: dir.path('x.geojsonseq') },
      'INVALID_URL',
    );
  });

  it('plain http to a non-loopback host: INSECURE_URL before any request', async () => {
    await expectFailedExport(
      {
        url: 'http://gis.example.invalid/arcgis/rest/services/A/FeatureServer/0',
        output: dir.path('x.geojsonseq'),
      },
      'INSECURE_URL',
    );
  });

  it('a service URL instead of a layer: LAYER_NOT_FOUND naming the layers to use', async () => {
    const service = LAYER_PATH.replace(/\/0$/, '');
    const s = await serve((req, res) =>
      req.path === service
        ? sendJson(res, {
            currentVersion: 11.1,
            layers: [
              { id: 0, name: 'Hostile' },
              { id: 3, name: 'Roads' },
            ],
            tables: [],
          })
        : fakeLayer([])(req, res),
    );
    const error = await expectFailedExport(
      { url: `${s.origin}${service}`, output: dir.path('svc.geojsonseq') },
      'LAYER_NOT_FOUND',
    );
    expect(error.message).toContain(`${service}/0 (Hostile)`);
    expect(error.message).toContain(`${service}/3 (Roads)`);
  });

  it('an HTTP 404: LAYER_NOT_FOUND', async () => {
    const s = await serve((_req, res) =>
      sendBytes(res, '<html><title>Not Found</title></html>', 'text/html', 404),
    );
    await expectFailedExport(
      { url: `${s.origin}${LAYER_PATH}`, output: dir.path('404.geojsonseq') },
      'LAYER_NOT_FOUND',
    );
  });

  it('an ArcGIS "Invalid URL" envelope (HTTP 200): LAYER_NOT_FOUND', async () => {
    const s = await serve((_req, res) =>
      sendJson(res, { error: { code: 400, message: 'Invalid URL', details: [] } }),
    );
    await expectFailedExport(
      { url: `${s.origin}${LAYER_PATH}`, output: dir.path('invalid.geojsonseq') },
      'LAYER_NOT_FOUND',
    );
  });

  it('an HTML page with HTTP 200 (a web page, not a REST endpoint): retried, then LAYER_NOT_FOUND naming the page', async () => {
    const s = await serve((_req, res) =>
      sendBytes(
        res,
        '<!doctype html><html><head><title>Item page</title></head><body>hi</body></html>',
        'text/html',
      ),
    );
    const error = await expectFailedExport(
      { url: `${s.origin}${LAYER_PATH}`, output: dir.path('html.geojsonseq') },
      'LAYER_NOT_FOUND',
    );
    expect(codeChain(error)).toEqual(['LAYER_NOT_FOUND', 'RETRIES_EXHAUSTED', 'INVALID_RESPONSE']);
    expect(error.message).toMatch(/answers a web page, not ArcGIS REST JSON/);
    expect(error.message).toMatch(/HTML page/);
    expect(error.message).toContain('Item page');
  });
});

describe('layer metadata', () => {
  const withMetadata = (metadata: Record<string, unknown> | ((res: ServerResponse) => void)) =>
    serve(fakeLayer([point(1, '{"x":1,"y":1}')], { metadata }));

  it('without `fields`: LAYER_METADATA_INVALID', async () => {
    const meta = layerMetadata();
    delete meta.fields;
    const s = await withMetadata(meta);
    await expectFailedExport(
      { url: `${s.origin}${LAYER_PATH}`, output: dir.path('nofields.geojsonseq') },
      'LAYER_METADATA_INVALID',
    );
  });

  it('with `fields` that is not an array: LAYER_METADATA_INVALID', async () => {
    const s = await withMetadata(layerMetadata({ fields: 'OBJECTID' }));
    await expectFailedExport(
      { url: `${s.origin}${LAYER_PATH}`, output: dir.path('badfields.geojsonseq') },
      'LAYER_METADATA_INVALID',
    );
  });

  it('a JSON array instead of an object: LAYER_METADATA_INVALID', async () => {
    const s = await withMetadata((res) => sendJson(res, '[1,2,3]'));
    await expectFailedExport(
      { url: `${s.origin}${LAYER_PATH}`, output: dir.path('array.geojsonseq') },
      'LAYER_METADATA_INVALID',
    );
  });

  it('no objectIdField, no OID-typed field, no OBJECTID/FID: OID_FIELD_NOT_FOUND', async () => {
    const meta = layerMetadata({ fields: [{ name: 'NAME', type: 'esriFieldTypeString' }] });
    delete meta.objectIdField;
    const s = await withMetadata(meta);
    await expectFailedExport(
      { url: `${s.origin}${LAYER_PATH}`, output: dir.path('nooid.geojsonseq') },
      'OID_FIELD_NOT_FOUND',
    );
  });

  it('no objectIdField but an esriFieldTypeOID field: that field is used and the export completes', async () => {
    const meta = layerMetadata();
    delete meta.objectIdField;
    const s = await withMetadata(meta);
    const output = dir.path('oidtype.geojsonseq');
    const stats = await runExport({ url: `${s.origin}${LAYER_PATH}`, output });
    expect(stats.features).toBe(1);
    expect((await readSeq(output))[0]!.id).toBe(1);
  });
});

describe('empty geometries', () => {
  it('NaN, null, missing and empty point geometries become null geometry and the features are kept', async () => {
    const features = [
      point(1, '{"x":"NaN","y":"NaN"}'),
      point(2, '{"x":null,"y":null}'),
      point(3, 'null'),
      point(4, '{}'),
      point(5, '{"x":5,"y":5}'),
      rawFeature(6, '{"attributes":{"OBJECTID":6,"NAME":"n6"}}'),
    ];
    const s = await serve(fakeLayer(features));
    const output = dir.path('empty-points.geojsonseq');
    const stats = await runExport({ url: `${s.origin}${LAYER_PATH}`, output });
    expect(stats.features).toBe(6);
    const out = await readSeq(output);
    expect(out.map((f) => f.id)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(out.map((f) => f.geometry)).toEqual([
      null,
      null,
      null,
      null,
      { type: 'Point', coordinates: [5, 5] },
      null,
    ]);
  });

  it('empty rings and paths become null geometry (polygon layer, CSV: an empty geometry cell)', async () => {
    const poly = (oid: number, geometry: string) =>
      rawFeature(oid, `{"attributes":{"OBJECTID":${oid},"NAME":"p${oid}"},"geometry":${geometry}}`);
    const features = [
      poly(1, '{"rings":[]}'),
      poly(2, '{"rings":[[]]}'),
      poly(3, '{"rings":[[[0,0],[0,1],[1,1],[0,0]]]}'),
      poly(4, 'null'),
    ];
    const s = await serve(
      fakeLayer(features, { metadata: layerMetadata({ geometryType: 'esriGeometryPolygon' }) }),
    );
    const seq = dir.path('empty-polygons.geojsonseq');
    await runExport({ url: `${s.origin}${LAYER_PATH}`, output: seq });
    const out = await readSeq(seq);
    expect(out.map((f) => f.id)).toEqual([1, 2, 3, 4]);
    expect(out.map((f) => f.geometry === null)).toEqual([true, true, false, true]);
    const csv = dir.path('empty-polygons.csv');
    await runExport({ url: `${s.origin}${LAYER_PATH}`, output: csv, format: 'csv' });
    const rows = (await readFile(csv, 'utf8')).trim().split('\r\n');
    expect(rows).toHaveLength(5);
    expect(rows[1]).toBe('1,p1,');
    expect(rows[3]).toMatch(/^3,p3,"?POLYGON/);
  });
});

describe('object ids', () => {
  const IDS = ['1.0', '12.0', '2147483647', '2147483648.0', '3000000000', '9007199254740991'];

  for (const strategy of ['offset', 'ids'] as const) {
    it(`floats (12.0) and ids above 2^31 are exact integers in the output (${strategy})`, async () => {
      const s = await serve(fakeLayer(IDS.map((id) => point(id, `{"x":1,"y":2}`))));
      const output = dir.path(`oids-${strategy}.geojsonseq`);
      const stats = await runExport({ url: `${s.origin}${LAYER_PATH}`, output, strategy });
      expect(stats.features).toBe(IDS.length);
      const text = await readFile(output, 'utf8');
      expect(text).not.toMatch(/"id":\d+\.0/);
      expect((await readSeq(output)).map((f) => f.id)).toEqual(IDS.map(Number));
    });
  }

  it('an id above 2^53 (not exact in JSON numbers): INVALID_RESPONSE, no output', async () => {
    const s = await serve(fakeLayer([point(1, '{"x":1,"y":1}'), point('9007199254740993', '{"x":1,"y":1}')]));
    const error = await expectFailedExport(
      { url: `${s.origin}${LAYER_PATH}`, output: dir.path('huge.geojsonseq'), strategy: 'offset' },
      'INVALID_RESPONSE',
    );
    expect(error.message).toMatch(/safe integer/);
  });

  it('a fractional id (12.5): INVALID_RESPONSE, no output', async () => {
    const s = await serve(fakeLayer([point(1, '{"x":1,"y":1}'), point('12.5', '{"x":1,"y":1}')]));
    await expectFailedExport(
      { url: `${s.origin}${LAYER_PATH}`, output: dir.path('fraction.geojsonseq'), strategy: 'offset' },
      'INVALID_RESPONSE',
    );
  });
});

describe('CSV formula injection', () => {
  it('with csvExcelSafe, cells (and headers) starting with = + - @ tab or CR are neutralised; numbers are untouched', async () => {
    const evil = ["=cmd|' /C calc'!A0", '+SUM(1,2)', '-2+3+cmd|x', '@SUM(A1)', '\t=1+1', '\r=1+1', 'plain'];
    const fields = [
      OID_FIELD,
      { name: 'NAME', type: 'esriFieldTypeString' },
      { name: 'VALUE', type: 'esriFieldTypeDouble' },
      { name: '=HYPERLINK("http://evil")', type: 'esriFieldTypeString' },
    ];
    const features = evil.map((name, i) =>
      rawFeature(
        i + 1,
        JSON.stringify({
          attributes: { OBJECTID: i + 1, NAME: name, VALUE: -5 - i, '=HYPERLINK("http://evil")': '=2*3' },
          geometry: { x: 1, y: 1 },
        }),
      ),
    );
    const s = await serve(fakeLayer(features, { metadata: layerMetadata({ fields }) }));
    const output = dir.path('formula.csv');
    await runExport({ url: `${s.origin}${LAYER_PATH}`, output, format: 'csv', csvExcelSafe: true });
    const rows = parseCsv(await readFile(output, 'utf8'));
    expect(rows[0]).toEqual(['OBJECTID', 'NAME', 'VALUE', `'=HYPERLINK("http://evil")`, 'geometry']);
    expect(rows).toHaveLength(evil.length + 1);
    rows.slice(1).forEach((row, i) => {
      const name = evil[i]!;
      expect(row[1]).toBe(name === 'plain' ? 'plain' : `'${name}`);
      expect(row[2]).toBe(String(-5 - i)); // a negative number is a number, not a formula
      expect(row[3]).toBe("'=2*3");
      expect(row[4]).toBe('POINT (1 1)');
    });
    // no cell anywhere starts with a formula character
    for (const row of rows) for (const cell of row.slice(0, 2)) expect(cell).not.toMatch(/^[=+\-@\t\r]/);

    // by default the data is written as it came (the guard changes data: it is opt-in)
    const plain = dir.path('as-it-came.csv');
    await runExport({ url: `${s.origin}${LAYER_PATH}`, output: plain, format: 'csv' });
    const raw = parseCsv(await readFile(plain, 'utf8'));
    expect(raw[0]).toEqual(['OBJECTID', 'NAME', 'VALUE', '=HYPERLINK("http://evil")', 'geometry']);
    expect(raw.slice(1).map((row) => row[1])).toEqual(evil);
    expect(raw.slice(1).map((row) => row[3])).toEqual(evil.map(() => '=2*3'));
  });
});
