import { describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import { type generateLayerData, NAME_STEMS } from '../../src/emulator/data/generate.js';
import { loadLayers } from '../../src/emulator/data/index.js';
import { type EsriPage, q, signedArea2, textOf } from './helpers.js';

async function one(spec: Parameters<typeof generateLayerData>[0], maxRecordCount = 5000) {
  const [layer] = await loadLayers({
    layers: [{ service: 'g', generate: spec, maxRecordCount, editing: false }],
  });
  return layer!;
}

describe('generated layers', () => {
  it('are deterministic: same seed same data, another seed other data', async () => {
    const a = await one({ count: 300, geometry: 'mixed-polygon', seed: 7, hasZ: true });
    const b = await one({ count: 300, geometry: 'mixed-polygon', seed: 7, hasZ: true });
    const c = await one({ count: 300, geometry: 'mixed-polygon', seed: 8, hasZ: true });
    const all = { where: '1=1', outFields: '*' };
    expect(a.query(all).body).toBe(b.query(all).body);
    expect(a.query(all).body).not.toBe(c.query(all).body);
    expect(a.feature(5)).toEqual(b.feature(5));
    expect(a.feature(5)).not.toEqual(c.feature(5));
  });

  it('has the documented fields and attribute variety', async () => {
    const layer = await one({ count: 2000, geometry: 'point', seed: 1 });
    const page = q(layer, { outFields: '*' });
    expect(page.fields.map((f) => [f.name, f.type])).toEqual([
      ['OBJECTID', 'esriFieldTypeOID'],
      ['name', 'esriFieldTypeString'],
      ['category', 'esriFieldTypeInteger'],
      ['value', 'esriFieldTypeDouble'],
      ['created', 'esriFieldTypeDate'],
      ['note', 'esriFieldTypeString'],
    ]);
    expect(page.fields.find((f) => f.name === 'name')?.length).toBe(64);
    const rows = page.features.map((f) => f.attributes);
    const names = rows.map((r) => r.name as string);
    expect(names.every((n) => n.length <= 64)).toBe(true);
    expect(names.some((n) => n.startsWith('='))).toBe(true);
    expect(names.some((n) => n.includes('"'))).toBe(true);
    expect(names.some((n) => n.includes("'"))).toBe(true);
    expect(names.some((n) => n.includes(','))).toBe(true);
    expect(names.some((n) => /[^\x00-\x7f]/.test(n))).toBe(true);
    expect(new Set(names.map((n) => n.replace(/ \d+$/, ''))).size).toBe(NAME_STEMS.length);
    const notes = rows.map((r) => r.note);
    const nulls = notes.filter((n) => n === null).length;
    expect(nulls).toBeGreaterThan(rows.length / 2);
    expect(nulls).toBeLessThan(rows.length);
    expect(rows.every((r) => Number.isInteger(r.category))).toBe(true);
    expect(rows.some((r) => !Number.isInteger(r.value))).toBe(true);
    const created = rows.map((r) => r.created as number);
    expect(
      created.every((c) => Number.isInteger(c) && c >= Date.UTC(2000, 0, 1) && c < Date.UTC(2026, 0, 1)),
    ).toBe(true);
  });

  it('oidMode dense starts at firstOid and is gapless', async () => {
    const layer = await one({ count: 50, geometry: 'point', firstOid: 1000 });
    expect(layer.objectIds()).toEqual(Array.from({ length: 50 }, (_, i) => 1000 + i));
  });

  it('oidMode sparse has gaps, increases, and goes beyond 2^31', async () => {
    const layer = await one({ count: 3000, geometry: 'point', oidMode: 'sparse', seed: 4 });
    const ids = layer.objectIds();
    expect(ids).toHaveLength(3000);
    for (let i = 1; i < ids.length; i++) expect(ids[i]!).toBeGreaterThan(ids[i - 1]!);
    expect(ids.some((id, i) => i > 0 && id - ids[i - 1]! > 1)).toBe(true);
    expect(ids.some((id) => id > 2 ** 31)).toBe(true);
    expect(ids.some((id) => id < 2 ** 31)).toBe(true);
    expect(ids.every(Number.isSafeInteger)).toBe(true);
  });

  it('oidMode hashed gives large unique sorted ids', async () => {
    const layer = await one({ count: 5000, geometry: 'point', oidMode: 'hashed', seed: 9 });
    const ids = layer.objectIds();
    for (let i = 1; i < ids.length; i++) expect(ids[i]!).toBeGreaterThan(ids[i - 1]!);
    expect(ids.filter((id) => id > 2 ** 32).length).toBeGreaterThan(4000);
    expect(ids.every(Number.isSafeInteger)).toBe(true);
    const other = await one({ count: 5000, geometry: 'point', oidMode: 'hashed', seed: 10 });
    expect(other.objectIds()[0]).not.toBe(ids[0]);
  });

  it('polygons: outer rings clockwise, holes counter-clockwise and inside', async () => {
    for (const geometry of ['polygon', 'multipolygon', 'mixed-polygon'] as const) {
      const layer = await one({ count: 400, geometry, seed: 2 });
      const page = q(layer, { outFields: 'OBJECTID' });
      let holes = 0;
      let multipart = 0;
      for (const f of page.features) {
        const rings = (f.geometry as { rings: number[][][] }).rings;
        const outers = rings.filter((r) => signedArea2(r) < 0);
        const inners = rings.filter((r) => signedArea2(r) > 0);
        expect(outers.length + inners.length).toBe(rings.length);
        expect(signedArea2(rings[0]!)).toBeLessThan(0);
        for (const r of rings) expect(r[0]).toEqual(r[r.length - 1]);
        holes += inners.length;
        if (outers.length > 1) multipart++;
      }
      expect(holes).toBeGreaterThan(0);
      if (geometry === 'polygon') expect(multipart).toBe(0);
      else expect(multipart).toBeGreaterThan(0);
      if (geometry === 'multipolygon') expect(multipart).toBe(400);
    }
  });

  it('polylines have multi-path rows, multipoints several points', async () => {
    const lines = q(await one({ count: 200, geometry: 'polyline', seed: 3 }), {});
    const paths = lines.features.map((f) => (f.geometry as { paths: number[][][] }).paths);
    expect(lines.geometryType).toBe('esriGeometryPolyline');
    expect(paths.some((p) => p.length > 1)).toBe(true);
    expect(paths.every((p) => p.every((path) => path.length >= 2))).toBe(true);
    const mp = q(await one({ count: 50, geometry: 'multipoint', seed: 3 }), {});
    expect(mp.geometryType).toBe('esriGeometryMultipoint');
    expect(mp.features.every((f) => (f.geometry as { points: number[][] }).points.length >= 2)).toBe(true);
  });

  it('hasZ / hasM give [x,y,z], [x,y,m] and [x,y,z,m] positions, and z/m on points', async () => {
    const cases = [
      { hasZ: true, hasM: false, len: 3 },
      { hasZ: false, hasM: true, len: 3 },
      { hasZ: true, hasM: true, len: 4 },
      { hasZ: false, hasM: false, len: 2 },
    ];
    for (const c of cases) {
      const layer = await one({ count: 20, geometry: 'polyline', hasZ: c.hasZ, hasM: c.hasM });
      const page = q(layer, {});
      expect(page.hasZ === true).toBe(c.hasZ);
      expect(page.hasM === true).toBe(c.hasM);
      const path = (page.features[0]!.geometry as { paths: number[][][]; hasM?: boolean }).paths[0]!;
      expect(path[0]).toHaveLength(c.len);
      expect((page.features[0]!.geometry as { hasM?: boolean }).hasM === true).toBe(c.hasM);
      expect(layer.metadata().hasZ).toBe(c.hasZ);
      expect(layer.metadata().hasM).toBe(c.hasM);
    }
    const pts = q(await one({ count: 5, geometry: 'point', hasZ: true, hasM: true }), {});
    expect(Object.keys(pts.features[0]!.geometry!)).toEqual(['x', 'y', 'z', 'm']);
    const noZ = q(await one({ count: 5, geometry: 'point', hasZ: true, hasM: true }), { returnZ: 'false' });
    expect(Object.keys(noZ.features[0]!.geometry!)).toEqual(['x', 'y', 'm']);
  });

  it('rejects invalid specs with USAGE errors', async () => {
    const bad = [
      { count: -1, geometry: 'point' },
      { count: 1.5, geometry: 'point' },
      { count: 10, geometry: 'circle' },
      { count: 10, geometry: 'point', oidMode: 'random' },
    ];
    for (const generate of bad) {
      const err = await loadLayers({ layers: [{ service: 's', generate: generate as never }] }).catch(
        (e) => e,
      );
      expect(isEtlError(err, 'USAGE')).toBe(true);
    }
  });

  it('loads 1,000,000 points in seconds, with little memory, and serves pages fast', async () => {
    const before = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    const layer = await one({ count: 1_000_000, geometry: 'point', seed: 11, oidMode: 'sparse' }, 2000);
    const loadMs = performance.now() - t0;
    const after = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const mb = (after - before) / 1e6;
    expect(layer.count).toBe(1_000_000);
    expect(loadMs).toBeLessThan(10_000);
    expect(mb).toBeLessThan(200);
    // a page in the middle, by OID range (fast path) and by offset
    const ids = layer.objectIds();
    const lo = ids[600_000]!;
    const hi = ids[601_999]!;
    const times: number[] = [];
    let page: EsriPage | undefined;
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const answer = layer.query({ where: `OBJECTID >= ${lo} AND OBJECTID <= ${hi}`, outFields: '*' });
      times.push(performance.now() - t);
      page = JSON.parse(textOf(answer)) as EsriPage;
    }
    expect(page!.features).toHaveLength(2000);
    expect(page!.features[0]!.attributes.OBJECTID).toBe(lo);
    const t1 = performance.now();
    const byOffset = q(layer, {
      where: '1=1',
      outFields: '*',
      resultOffset: '998000',
      orderByFields: 'OBJECTID',
    });
    const offsetMs = performance.now() - t1;
    expect(byOffset.features).toHaveLength(2000);
    expect(byOffset.exceededTransferLimit).toBeUndefined();
    const best = Math.min(...times);
    console.log(
      `1M points: load ${loadMs.toFixed(0)} ms, +${mb.toFixed(0)} MB; 2000-row page ${best.toFixed(1)} ms (best of 5), by offset ${offsetMs.toFixed(1)} ms`,
    );
    expect(best).toBeLessThan(250);
  });
});
