import { beforeAll, describe, expect, it } from 'vitest';
import { loadLayers } from '../../src/emulator/data/index.js';
import type { EmulatedLayer } from '../../src/emulator/types.js';
import { oidsOf, q, queryError } from './helpers.js';

const MAX = 50;
let layer: EmulatedLayer;

beforeAll(async () => {
  [layer] = (await loadLayers({
    layers: [{ service: 'f', generate: { count: 175, geometry: 'point', seed: 1 }, maxRecordCount: MAX }],
  })) as [EmulatedLayer];
});

const page = (offset: number, count = MAX) => ({
  where: '1=1',
  orderByFields: 'OBJECTID ASC',
  resultOffset: String(offset),
  resultRecordCount: String(count),
});

describe('query faults', () => {
  it('ignoreResultOffset answers page 1 again', () => {
    const first = oidsOf(q(layer, page(0)));
    const normal = oidsOf(q(layer, page(50)));
    const faulty = q(layer, page(50), { ignoreResultOffset: true });
    expect(normal[0]).toBe(51);
    expect(oidsOf(faulty)).toEqual(first);
    expect(faulty.exceededTransferLimit).toBe(true);
  });

  it('extraRow answers maxRecordCount + 1 rows for a full page', () => {
    const faulty = q(layer, page(0), { extraRow: true });
    expect(faulty.features).toHaveLength(MAX + 1);
    expect(faulty.exceededTransferLimit).toBe(true);
    expect(oidsOf(faulty).at(-1)).toBe(51);
    // no paging parameters: still a full page
    expect(q(layer, { where: '1=1' }, { extraRow: true }).features).toHaveLength(MAX + 1);
    // a smaller page than maxRecordCount, or the last page, is not affected
    expect(q(layer, page(0, 10), { extraRow: true }).features).toHaveLength(10);
    expect(q(layer, page(150), { extraRow: true }).features).toHaveLength(25);
  });

  it('shortPageExceeded halves the page and still says exceededTransferLimit', () => {
    const faulty = q(layer, page(0), { shortPageExceeded: true });
    expect(faulty.features).toHaveLength(25);
    expect(faulty.exceededTransferLimit).toBe(true);
    const last = q(layer, page(150), { shortPageExceeded: true });
    expect(last.features).toHaveLength(12);
    expect(last.exceededTransferLimit).toBe(true);
    // walking by rows received still ends and loses nothing
    const seen: number[] = [];
    let offset = 0;
    for (let i = 0; i < 100; i++) {
      const p = q(layer, page(offset), { shortPageExceeded: true });
      seen.push(...oidsOf(p));
      offset += p.features.length;
      if (!p.exceededTransferLimit) break;
    }
    expect(seen).toEqual([...layer.objectIds()]);
  });

  it('failAbove fails pages larger than N with a 500, smaller ones pass', () => {
    const err = queryError(layer, page(0), { failAbove: 20 });
    expect(err.code).toBe(500);
    expect(err.message).toBe('Error performing query operation');
    expect(q(layer, page(0, 20), { failAbove: 20 }).features).toHaveLength(20);
    expect(q(layer, page(160, 50), { failAbove: 20 }).features).toHaveLength(15);
    // counts and ids are not feature pages
    expect(q(layer, { returnCountOnly: 'true' }, { failAbove: 1 })).toEqual({ count: 175 });
  });

  it('without faults nothing of the above happens', () => {
    const normal = q(layer, page(0), {});
    expect(normal.features).toHaveLength(MAX);
    expect(oidsOf(normal)[0]).toBe(1);
  });
});

describe('capabilities switched off are advertised and enforced', () => {
  let off: EmulatedLayer;
  beforeAll(async () => {
    [off] = (await loadLayers({
      layers: [
        {
          service: 'old',
          generate: { count: 30, geometry: 'point' },
          maxRecordCount: 10,
          capabilities: { pagination: false, idsOnly: false, statistics: false, geojson: false, pbf: false },
        },
      ],
    })) as [EmulatedLayer];
  });

  it('in metadata', () => {
    const md = off.metadata();
    expect(md.advancedQueryCapabilities?.supportsPagination).toBe(false);
    expect(md.advancedQueryCapabilities?.supportsStatistics).toBe(false);
    expect(md.supportsStatistics).toBe(false);
    expect(md.supportedQueryFormats).toBe('JSON');
    expect(layer.metadata().supportedQueryFormats).toBe('JSON, geoJSON, PBF');
    expect(layer.metadata().advancedQueryCapabilities?.supportsPagination).toBe(true);
  });

  it('pagination: resultOffset answers "Pagination is not supported"', () => {
    const err = queryError(off, { resultOffset: '10', resultRecordCount: '10' });
    expect(err.code).toBe(400);
    expect(err.message).toBe('Pagination is not supported');
    // resultRecordCount alone is ignored, like old servers do
    const p = q(off, { resultRecordCount: '3' });
    expect(p.features).toHaveLength(10);
    expect(p.exceededTransferLimit).toBe(true);
  });

  it('idsOnly, statistics, geojson', () => {
    expect(queryError(off, { returnIdsOnly: 'true' }).code).toBe(400);
    expect(q(off, { returnIdsOnly: 'true', returnCountOnly: 'true' })).toEqual({ count: 30 });
    expect(
      queryError(off, {
        outStatistics: JSON.stringify([{ statisticType: 'max', onStatisticField: 'OBJECTID' }]),
      }).code,
    ).toBe(400);
    expect(queryError(off, { f: 'geojson' }).code).toBe(400);
    expect(queryError(off, { f: 'pbf' }).code).toBe(400);
    expect(q(off, { f: 'json' }).features).toHaveLength(10);
  });
});
