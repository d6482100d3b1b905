/**
 * --order-by "field [ASC|DESC]": the output in the field's order (then by OID), every feature
 * exactly once, with filters and --limit; a server that answers another order is ORDER_NOT_HONOURED
 * with nothing published; what cannot be guaranteed (--resume, another --strategy) is USAGE.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { type ExportOptions, exportLayer } from '../../src/features/export.js';
import { parseOrderBy } from '../../src/features/strategies/order-by.js';
import { readSeq, rig, startSecured, tempDir } from '../extract/helpers.js';

const COUNT = 130;
let emu: EmulatorHandle;
let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  emu = await startSecured({
    layers: [{ service: 'Pts', generate: { count: COUNT, geometry: 'point', seed: 3 }, maxRecordCount: 20 }],
  });
  tmp = await tempDir('arcgis-etl-order-by-');
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

async function run(name: string, options: Partial<ExportOptions>) {
  const r = rig(emu);
  const output = tmp.path(name);
  try {
    const stats = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Pts'),
      output,
      format: 'geojsonseq',
      ...options,
    });
    return { stats, output, features: await readSeq(output) };
  } finally {
    await r.close();
  }
}

interface Row {
  oid: number;
  attributes: Record<string, unknown>;
  x: number;
  y: number;
}

function source(): Row[] {
  const layer = emu.layer('Pts');
  return layer.objectIds().map((oid) => {
    const f = layer.feature(oid)!;
    const g = f.geometry as { x: number; y: number };
    return { oid, attributes: f.attributes, x: g.x, y: g.y };
  });
}

/** The source OIDs in the order of `field` (nulls last ascending, first descending), then OID. */
function expectedOrder(rows: readonly Row[], field: string, desc: boolean): number[] {
  const key = (r: Row) => r.attributes[field] as number | string | null;
  return [...rows]
    .sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      if (ka === kb) return a.oid - b.oid;
      if (ka === null) return desc ? -1 : 1;
      if (kb === null) return desc ? 1 : -1;
      const c = ka < kb ? -1 : 1;
      return (desc ? -c : c) || a.oid - b.oid;
    })
    .map((r) => r.oid);
}

describe('--order-by', () => {
  it('parses field [ASC|DESC]', () => {
    expect(parseOrderBy('value')).toEqual({ field: 'value', desc: false });
    expect(parseOrderBy(' created  desc ')).toEqual({ field: 'created', desc: true });
    expect(() => parseOrderBy('value; DROP')).toThrow(/--order-by must be/);
    expect(() => parseOrderBy('a ASC DESC')).toThrow(/--order-by must be/);
  });

  for (const [field, desc] of [
    ['value', true],
    ['created', false],
    ['category', false],
    ['name', true],
  ] as const) {
    it(`${field} ${desc ? 'DESC' : 'ASC'}: every feature once, in that order (ties by OID)`, async () => {
      const { stats, features } = await run(`${field}-${desc}.geojsonl`, {
        orderBy: { field, desc },
        queryFormat: 'json',
      });
      expect(stats.strategy).toBe('order-by');
      expect(features.map((f) => f.id)).toEqual(expectedOrder(source(), field, desc));
    });
  }

  it('with a where clause, a bbox, a field list without the field, and --limit', async () => {
    const box = [-120, -60, 60, 60] as const;
    const rows = source().filter(
      (r) =>
        (r.attributes.category as number) >= 3 &&
        r.x >= box[0] &&
        r.x <= box[2] &&
        r.y >= box[1] &&
        r.y <= box[3],
    );
    expect(rows.length).toBeGreaterThan(10);
    const { bboxFilter } = await import('../../src/features/spatial-filter.js');
    const { features, stats } = await run('filtered.geojsonl', {
      orderBy: { field: 'value', desc: false },
      where: 'category >= 3',
      filter: bboxFilter(box, 4326),
      fields: ['name'],
      limit: 9,
    });
    expect(features.map((f) => f.id)).toEqual(expectedOrder(rows, 'value', false).slice(0, 9));
    expect(Object.keys(features[0]!.properties)).toEqual(['name']);
    expect(stats.limitReached).toBe(true);
  });

  it('a server that ignores the order: ORDER_NOT_HONOURED, nothing published', async () => {
    emu.setFaults({ ignoreOrderByAll: true });
    try {
      const output = tmp.path('ignored.geojsonl');
      await expect(run('ignored.geojsonl', { orderBy: { field: 'value' } })).rejects.toMatchObject({
        code: 'ORDER_NOT_HONOURED',
      });
      expect(existsSync(output)).toBe(false);
    } finally {
      emu.setFaults({});
    }
  });

  it('--resume and another strategy are USAGE; the field must exist', async () => {
    await expect(run('r.geojsonl', { orderBy: { field: 'value' }, resume: true })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/cannot be resumed/),
    });
    await expect(run('s.geojsonl', { orderBy: { field: 'value' }, strategy: 'ids' })).rejects.toMatchObject({
      code: 'USAGE',
    });
    await expect(run('f.geojsonl', { orderBy: { field: 'nope' } })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/Unknown field "nope"/),
    });
  });
});
