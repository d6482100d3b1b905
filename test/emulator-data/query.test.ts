import { beforeAll, describe, expect, it } from 'vitest';
import { loadLayers } from '../../src/emulator/data/index.js';
import type { EmulatedLayer } from '../../src/emulator/types.js';
import { oidsOf, q, queryError, signedArea2, textOf } from './helpers.js';

let layer: EmulatedLayer;
let points: EmulatedLayer;
const MAX = 100;

beforeAll(async () => {
  [layer, points] = (await loadLayers({
    layers: [
      {
        service: 'parcels',
        generate: { count: 2345, geometry: 'mixed-polygon', seed: 5, oidMode: 'sparse' },
        maxRecordCount: MAX,
        // the generator's own fields (generated layers are editable by default: + 4 edit fields)
        editing: false,
      },
      {
        service: 'points',
        generate: { count: 1000, geometry: 'point', seed: 6, hasZ: true },
        maxRecordCount: 2000,
        editing: false,
      },
    ],
  })) as [EmulatedLayer, EmulatedLayer];
});

describe('query: answers', () => {
  it('f=json looks like a recorded page', () => {
    const page = q(layer, { where: '1=1', outFields: '*', f: 'json' });
    expect(Object.keys(page)).toEqual(
      expect.arrayContaining(['objectIdFieldName', 'geometryType', 'spatialReference', 'fields', 'features']),
    );
    expect(page.objectIdFieldName).toBe('OBJECTID');
    expect(page.geometryType).toBe('esriGeometryPolygon');
    expect(page.spatialReference).toEqual({ wkid: 4326, latestWkid: 4326 });
    expect(Object.keys(page.features[0]!)).toEqual(['attributes', 'geometry']);
    expect(page.features[0]!.attributes).toEqual(layer.feature(layer.objectIds()[0]!)!.attributes);
    expect(page.features[0]!.geometry).toEqual(layer.feature(layer.objectIds()[0]!)!.geometry);
  });

  it('without paging: the first maxRecordCount rows and exceededTransferLimit', () => {
    const page = q(layer, { where: '1=1' });
    expect(oidsOf(page)).toEqual(layer.objectIds().slice(0, MAX));
    expect(page.exceededTransferLimit).toBe(true);
    const small = q(layer, { where: `OBJECTID <= ${layer.objectIds()[9]}` });
    expect(small.features).toHaveLength(10);
    expect(small.exceededTransferLimit).toBeUndefined();
  });

  it('resultRecordCount is capped at maxRecordCount', () => {
    const page = q(layer, { resultOffset: '0', resultRecordCount: '5000' });
    expect(page.features).toHaveLength(MAX);
    expect(q(layer, { resultOffset: '0', resultRecordCount: '7' }).features).toHaveLength(7);
  });

  it('returnCountOnly, returnIdsOnly', () => {
    expect(q(layer, { where: '1=1', returnCountOnly: 'true' })).toEqual({ count: 2345 });
    expect(q(layer, { where: 'category = 3', returnCountOnly: 'true', returnIdsOnly: 'true' })).toEqual({
      count: q<{ objectIds: number[] }>(layer, { where: 'category = 3', returnIdsOnly: 'true' }).objectIds
        .length,
    });
    const ids = q<{ objectIdFieldName: string; objectIds: number[] }>(layer, { returnIdsOnly: 'true' });
    expect(ids.objectIdFieldName).toBe('OBJECTID');
    expect(ids.objectIds).toEqual([...layer.objectIds()]);
    expect(ids.objectIds.some((id) => id > 2 ** 31)).toBe(true);
  });

  it('outFields: * , a list (case-insensitive), OID always included, unknown field rejected', () => {
    const star = q(layer, { outFields: '*', resultRecordCount: '1', resultOffset: '0' });
    expect(Object.keys(star.features[0]!.attributes)).toEqual([
      'OBJECTID',
      'name',
      'category',
      'value',
      'created',
      'note',
    ]);
    const list = q(layer, { outFields: 'VALUE, Name' });
    expect(Object.keys(list.features[0]!.attributes)).toEqual(['OBJECTID', 'value', 'name']);
    expect(list.fields.map((f) => f.name)).toEqual(['OBJECTID', 'value', 'name']);
    expect(Object.keys(q(layer, {}).features[0]!.attributes)).toEqual(['OBJECTID']);
    // the geometry field of the metadata is accepted and ignored
    expect(Object.keys(q(layer, { outFields: 'Shape,name' }).features[0]!.attributes)).toEqual([
      'OBJECTID',
      'name',
    ]);
    const err = queryError(layer, { outFields: 'name,bogus' });
    expect(err.code).toBe(400);
    expect(err.details.join()).toContain('bogus');
  });

  it('returnGeometry=false drops geometry', () => {
    const page = q(layer, { returnGeometry: 'false', outFields: 'name' });
    expect(page.features.every((f) => !('geometry' in f))).toBe(true);
    expect(q(layer, { returnGeometry: 'true' }).features[0]!.geometry).toBeTruthy();
  });

  it('objectIds: a comma list, combined with where, unknown ids ignored, floats accepted', () => {
    const all = layer.objectIds();
    const pick = [all[5]!, all[2000]!, all[3]!, 999_999_999_999];
    const page = q(layer, { objectIds: pick.join(', '), outFields: 'category' });
    expect(oidsOf(page)).toEqual([all[3], all[5], all[2000]]);
    const cat = page.features[0]!.attributes.category;
    const filtered = q(layer, { objectIds: pick.join(','), where: `category = ${cat}` });
    expect(oidsOf(filtered)).toContain(all[3]);
    expect(q(layer, { objectIds: `${all[3]!.toExponential()}` }).features).toHaveLength(1);
    expect(queryError(layer, { objectIds: '1,two' }).code).toBe(400);
  });

  it('objectIds batches cover the layer exactly once', () => {
    const ids = q<{ objectIds: number[] }>(layer, { returnIdsOnly: 'true' }).objectIds;
    const seen: number[] = [];
    for (let i = 0; i < ids.length; i += MAX) {
      const page = q(layer, { objectIds: ids.slice(i, i + MAX).join(','), outFields: '*' });
      expect(page.exceededTransferLimit).toBeUndefined();
      seen.push(...oidsOf(page));
    }
    expect(seen).toEqual(ids);
  });

  it('orderByFields: several fields, ASC/DESC, ties by OID; unknown field rejected', () => {
    const page = q(layer, {
      where: '1=1',
      outFields: 'category,value',
      orderByFields: 'category DESC, value ASC',
      resultOffset: '0',
      resultRecordCount: '100',
    });
    const rows = page.features.map((f) => f.attributes as { category: number; value: number });
    for (let i = 1; i < rows.length; i++) {
      const a = rows[i - 1]!;
      const b = rows[i]!;
      expect(a.category > b.category || (a.category === b.category && a.value <= b.value)).toBe(true);
    }
    expect(rows[0]!.category).toBe(9);
    const desc = q(layer, { orderByFields: 'OBJECTID DESC', resultRecordCount: '3', resultOffset: '0' });
    expect(oidsOf(desc)).toEqual(layer.objectIds().slice(-3).reverse());
    // NULLs first when ascending
    const notes = q(layer, { outFields: 'note', orderByFields: 'note' }).features.map(
      (f) => f.attributes.note,
    );
    expect(notes[0]).toBeNull();
    expect(queryError(layer, { orderByFields: 'nope' }).code).toBe(400);
    expect(queryError(layer, { orderByFields: 'name SIDEWAYS' }).code).toBe(400);
  });

  it('paging with resultOffset + orderBy walks every feature exactly once', () => {
    for (const orderByFields of ['OBJECTID ASC', 'category DESC', 'name', 'note DESC, value']) {
      const seen: number[] = [];
      let offset = 0;
      for (;;) {
        const page = q(layer, {
          where: '1=1',
          outFields: 'OBJECTID',
          orderByFields,
          resultOffset: String(offset),
          resultRecordCount: '250',
        });
        expect(page.features.length).toBeLessThanOrEqual(MAX);
        seen.push(...oidsOf(page));
        offset += page.features.length;
        if (!page.exceededTransferLimit) break;
      }
      expect(seen).toHaveLength(2345);
      expect(new Set(seen).size).toBe(2345);
      if (orderByFields === 'OBJECTID ASC') expect(seen).toEqual([...layer.objectIds()]);
    }
  });

  it('an offset past the end answers an empty page', () => {
    const page = q(layer, { resultOffset: '999999' });
    expect(page.features).toEqual([]);
    expect(page.exceededTransferLimit).toBeUndefined();
    expect(queryError(layer, { resultOffset: '-1' }).code).toBe(400);
    expect(queryError(layer, { resultRecordCount: 'ten' }).code).toBe(400);
  });

  it('OID range where clauses (the statistics strategy) partition the layer', () => {
    const ids = layer.objectIds();
    const min = ids[0]!;
    const max = ids[ids.length - 1]!;
    const seen: number[] = [];
    const step = 2 ** 29;
    for (let lo = min; lo <= max; lo += step) {
      const page = q(layer, {
        where: `OBJECTID >= ${lo} AND OBJECTID < ${lo + step}`,
        returnIdsOnly: 'true',
      }) as unknown as { objectIds: number[] };
      seen.push(...page.objectIds);
    }
    expect(seen).toEqual([...ids]);
  });

  it('OBJECTID IN (...) in where, combined with objectIds', () => {
    const all = layer.objectIds();
    const where = `OBJECTID IN (${all[1]}, ${all[7]}, ${all[9]})`;
    expect(oidsOf(q(layer, { where }))).toEqual([all[1], all[7], all[9]]);
    expect(oidsOf(q(layer, { where, objectIds: `${all[9]},${all[2]}` }))).toEqual([all[9]]);
  });

  it('a custom objectIdField is used everywhere', async () => {
    const [fid] = await loadLayers({
      layers: [{ service: 'fid', objectIdField: 'FID', generate: { count: 30, geometry: 'point' } }],
    });
    expect(fid!.objectIdField).toBe('FID');
    expect(fid!.metadata().objectIdField).toBe('FID');
    const page = q(fid!, { where: 'fid >= 10 AND FID < 13', outFields: 'name', orderByFields: 'FID DESC' });
    expect(page.objectIdFieldName).toBe('FID');
    expect(oidsOf(page, 'FID')).toEqual([12, 11, 10]);
    expect(queryError(fid!, { where: 'OBJECTID > 1' }).code).toBe(400);
    const geo = JSON.parse(textOf(fid!.query({ f: 'geojson', objectIds: '4' })));
    expect(geo.features[0].id).toBe(4);
  });

  it('invalid where is an ArcGIS 400', () => {
    const err = queryError(layer, { where: "name = 'x" });
    expect(err.code).toBe(400);
    expect(err.message).toBe('Unable to complete operation.');
    expect(queryError(layer, { where: 'shape_area > 1' }).details.join()).toContain('shape_area');
  });

  it('unsupported f is rejected, pjson accepted, returnTrueCurves ignored', () => {
    expect(queryError(layer, { f: 'kmz' }).code).toBe(400);
    expect(queryError(layer, { f: 'amf' }).details.join()).toContain("'f' parameter is invalid");
    expect(q(layer, { f: 'pjson', returnTrueCurves: 'false' }).features).toHaveLength(MAX);
  });
});

describe('query: geometry', () => {
  it('envelope intersects (JSON and comma forms), matching a brute-force bbox check', () => {
    const env = { xmin: -100, ymin: 30, xmax: -90, ymax: 40 };
    const ids = q<{ objectIds: number[] }>(layer, {
      geometry: JSON.stringify({ ...env, spatialReference: { wkid: 4326 } }),
      geometryType: 'esriGeometryEnvelope',
      spatialRel: 'esriSpatialRelIntersects',
      returnIdsOnly: 'true',
    }).objectIds;
    const expected = layer.objectIds().filter((oid) => {
      const rings = (layer.feature(oid)!.geometry as { rings: number[][][] }).rings.flat();
      const xs = rings.map((p) => p[0]!);
      const ys = rings.map((p) => p[1]!);
      return (
        Math.min(...xs) <= env.xmax &&
        Math.max(...xs) >= env.xmin &&
        Math.min(...ys) <= env.ymax &&
        Math.max(...ys) >= env.ymin
      );
    });
    expect(ids.length).toBeGreaterThan(50);
    expect(ids.length).toBeLessThan(2345);
    expect(ids).toEqual(expected);
    const comma = q<{ objectIds: number[] }>(layer, {
      geometry: '-100,30,-90,40',
      returnIdsOnly: 'true',
    }).objectIds;
    expect(comma).toEqual(ids);
  });

  it('envelope on points, quadrants partition the layer; inSR 3857 accepted', () => {
    const count = (geometry: string, extra: Record<string, string> = {}) =>
      q<{ count: number }>(points, {
        geometry,
        geometryType: 'esriGeometryEnvelope',
        returnCountOnly: 'true',
        ...extra,
      }).count;
    const w = count('-180,-90,-95,90');
    const e = count('-94.9999999999,-90,180,90');
    expect(w + e).toBe(1000);
    expect(w).toBeGreaterThan(0);
    const merc = count(
      JSON.stringify({
        xmin: -20037508.34,
        ymin: -20037508,
        xmax: -10575351.62,
        ymax: 20037508,
        spatialReference: { wkid: 102100 },
      }),
    );
    expect(merc).toBe(w);
    expect(queryError(points, { geometry: 'nonsense' }).code).toBe(400);
    expect(queryError(points, { geometry: '1,2,3,4', spatialRel: 'esriSpatialRelTouches' }).code).toBe(400);
  });

  it('outSR 102100/3857 converts to Web Mercator; 4326 is the default', () => {
    const wgs = q(points, { resultOffset: '0', resultRecordCount: '1' });
    const merc = q(points, { resultOffset: '0', resultRecordCount: '1', outSR: '3857' });
    expect(merc.spatialReference).toEqual({ wkid: 102100, latestWkid: 3857 });
    const g = wgs.features[0]!.geometry as { x: number; y: number; z: number };
    const m = merc.features[0]!.geometry as { x: number; y: number; z: number };
    expect(m.x).toBeCloseTo((g.x * 20037508.342789244) / 180, 2);
    expect(m.y).toBeCloseTo(Math.log(Math.tan(((90 + g.y) * Math.PI) / 360)) * 6378137, 2);
    expect(m.z).toBe(g.z);
    expect(q(points, { outSR: JSON.stringify({ wkid: 4326 }) }).spatialReference.wkid).toBe(4326);
  });
});

describe('query: f=geojson', () => {
  it('is a valid RFC 7946 FeatureCollection with outer rings counter-clockwise', () => {
    const fc = JSON.parse(
      textOf(
        layer.query({
          where: '1=1',
          outFields: '*',
          f: 'geojson',
          resultOffset: '0',
          resultRecordCount: '100',
        }),
      ),
    ) as {
      type: string;
      features: {
        type: string;
        id: number;
        geometry: { type: string; coordinates: number[][][] | number[][][][] };
        properties: Record<string, unknown>;
      }[];
      properties?: { exceededTransferLimit?: boolean };
    };
    expect(fc.type).toBe('FeatureCollection');
    expect(fc.properties?.exceededTransferLimit).toBe(true);
    expect(fc.features).toHaveLength(100);
    let holes = 0;
    let multi = 0;
    for (const f of fc.features) {
      expect(f.type).toBe('Feature');
      expect(f.id).toBe(f.properties.OBJECTID);
      const polygons =
        f.geometry.type === 'Polygon'
          ? [f.geometry.coordinates as number[][][]]
          : (f.geometry.coordinates as number[][][][]);
      if (f.geometry.type === 'MultiPolygon') multi++;
      else expect(f.geometry.type).toBe('Polygon');
      for (const poly of polygons) {
        expect(signedArea2(poly[0]!)).toBeGreaterThan(0);
        for (const hole of poly.slice(1)) {
          expect(signedArea2(hole)).toBeLessThan(0);
          holes++;
        }
        for (const ring of poly) {
          expect(ring.length).toBeGreaterThanOrEqual(4);
          expect(ring[0]).toEqual(ring[ring.length - 1]);
        }
      }
      // same rings as the Esri answer (reversed), no ring lost
      const esri = layer.feature(f.id)!.geometry as { rings: number[][][] };
      expect(polygons.flat().length).toBe(esri.rings.length);
    }
    expect(holes).toBeGreaterThan(0);
    expect(multi).toBeGreaterThan(0);
    const last = JSON.parse(textOf(layer.query({ f: 'geojson', resultOffset: '2300' })));
    expect(last.properties).toBeUndefined();
  });

  it('points keep z and drop m; lines map to LineString / MultiLineString', async () => {
    const [pz, lines] = await loadLayers({
      layers: [
        { service: 'pz', generate: { count: 3, geometry: 'point', hasZ: true, hasM: true } },
        { service: 'l', generate: { count: 100, geometry: 'polyline', hasM: true } },
      ],
    });
    const fc = JSON.parse(textOf(pz!.query({ f: 'geojson' })));
    expect(fc.features[0].geometry.type).toBe('Point');
    expect(fc.features[0].geometry.coordinates).toHaveLength(3);
    const lc = JSON.parse(textOf(lines!.query({ f: 'geojson' })));
    const types = new Set(lc.features.map((f: { geometry: { type: string } }) => f.geometry.type));
    expect(types).toEqual(new Set(['LineString', 'MultiLineString']));
    const line = lc.features.find((f: { geometry: { type: string } }) => f.geometry.type === 'LineString');
    expect(line.geometry.coordinates[0]).toHaveLength(2);
  });
});

describe('query: outStatistics', () => {
  const stat = (statisticType: string, onStatisticField: string, outStatisticFieldName?: string) => ({
    statisticType,
    onStatisticField,
    ...(outStatisticFieldName ? { outStatisticFieldName } : {}),
  });

  it('min/max of the OID, like the recorded statistics answer', () => {
    const body = q<Record<string, unknown> & { features: { attributes: Record<string, number> }[] }>(layer, {
      outStatistics: JSON.stringify([stat('min', 'OBJECTID', 'THE_MIN'), stat('max', 'OBJECTID', 'THE_MAX')]),
    });
    expect(Object.keys(body)).toEqual(['displayFieldName', 'fieldAliases', 'fields', 'features']);
    const ids = layer.objectIds();
    expect(body.features).toEqual([{ attributes: { THE_MIN: ids[0], THE_MAX: ids[ids.length - 1] } }]);
  });

  it('count/sum/avg/min/max on numeric fields, with where, default names', () => {
    const rows = q(layer, {
      where: 'category = 2',
      outFields: 'value',
      returnGeometry: 'false',
      resultOffset: '0',
      resultRecordCount: '100000',
    });
    // the page is capped, so compute the expectation from batches of ids
    const ids = q<{ objectIds: number[] }>(layer, { where: 'category = 2', returnIdsOnly: 'true' }).objectIds;
    const values: number[] = [];
    for (let i = 0; i < ids.length; i += MAX) {
      values.push(
        ...q(layer, { objectIds: ids.slice(i, i + MAX).join(','), outFields: 'value' }).features.map(
          (f) => f.attributes.value as number,
        ),
      );
    }
    expect(rows.features.length).toBe(MAX);
    const body = q<{
      fields: { name: string; type: string }[];
      features: { attributes: Record<string, number> }[];
    }>(layer, {
      where: 'category = 2',
      outStatistics: JSON.stringify([
        stat('count', 'OBJECTID'),
        stat('sum', 'value'),
        stat('avg', 'value'),
        stat('min', 'value'),
        stat('max', 'value'),
        stat('count', 'note'),
      ]),
    });
    const a = body.features[0]!.attributes;
    expect(a.COUNT_OBJECTID).toBe(ids.length);
    expect(a.SUM_value).toBeCloseTo(
      values.reduce((s, v) => s + v, 0),
      6,
    );
    expect(a.AVG_value).toBeCloseTo(values.reduce((s, v) => s + v, 0) / values.length, 6);
    expect(a.MIN_value).toBe(Math.min(...values));
    expect(a.MAX_value).toBe(Math.max(...values));
    expect(a.COUNT_note).toBeLessThan(ids.length);
    expect(body.fields.find((f) => f.name === 'AVG_value')?.type).toBe('esriFieldTypeDouble');
    expect(body.fields.find((f) => f.name === 'COUNT_OBJECTID')?.type).toBe('esriFieldTypeInteger');
  });

  it('groupByFieldsForStatistics', () => {
    const body = q<{ features: { attributes: { category: number; n: number } }[] }>(layer, {
      outStatistics: JSON.stringify([stat('count', 'OBJECTID', 'n')]),
      groupByFieldsForStatistics: 'category',
    });
    expect(body.features).toHaveLength(10);
    expect(body.features.reduce((s, f) => s + f.attributes.n, 0)).toBe(2345);
  });

  it('rejects bad statistics', () => {
    expect(queryError(layer, { outStatistics: 'not json' }).code).toBe(400);
    expect(queryError(layer, { outStatistics: JSON.stringify([stat('median', 'value')]) }).code).toBe(400);
    expect(queryError(layer, { outStatistics: JSON.stringify([stat('sum', 'name')]) }).code).toBe(400);
    expect(queryError(layer, { outStatistics: JSON.stringify([stat('min', 'nope')]) }).code).toBe(400);
  });

  it('empty selection: count 0 and null aggregates', () => {
    const body = q<{ features: { attributes: Record<string, unknown> }[] }>(layer, {
      where: '1=0',
      outStatistics: JSON.stringify([stat('count', 'OBJECTID', 'c'), stat('max', 'OBJECTID', 'm')]),
    });
    expect(body.features[0]!.attributes).toEqual({ c: 0, m: null });
  });
});
