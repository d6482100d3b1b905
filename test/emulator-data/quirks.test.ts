/**
 * The quirks of servers we did not write (issue 11): orderByFields ignored on the OID, a silent page
 * cap, outStatistics answered with {}, offsets honoured only up to a depth, null geometries.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { emulatorCommandOptions } from '../../src/emulator/cli.js';
import { loadLayers } from '../../src/emulator/data/index.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatedLayer } from '../../src/emulator/types.js';
import { oidsOf, q } from './helpers.js';

const MAX = 50;
let layer: EmulatedLayer;

beforeAll(async () => {
  [layer] = (await loadLayers({
    layers: [{ service: 'f', generate: { count: 175, geometry: 'point', seed: 1 }, maxRecordCount: MAX }],
  })) as [EmulatedLayer];
});

const page = (offset: number, count = MAX, orderByFields = 'OBJECTID ASC') => ({
  where: '1=1',
  orderByFields,
  resultOffset: String(offset),
  resultRecordCount: String(count),
});

const ascending = (oids: number[]) => oids.every((oid, i) => i === 0 || oid > oids[i - 1]!);

describe('ignoreOrderBy', () => {
  it('serves a fixed shuffled file order whatever orderByFields says on the OID, consistent across pages', () => {
    const faults = { ignoreOrderBy: true };
    const pages = [0, 50, 100, 150].map((offset) => oidsOf(q(layer, page(offset), faults)));
    const all = pages.flat();
    expect(all).toHaveLength(175);
    expect(new Set(all).size).toBe(175);
    expect(ascending(pages[0]!)).toBe(false);
    // the same order with DESC, or without orderByFields: the server's own file order
    expect(oidsOf(q(layer, page(0, MAX, 'OBJECTID DESC'), faults))).toEqual(pages[0]);
    expect(oidsOf(q(layer, { where: '1=1', resultOffset: '0', resultRecordCount: '50' }, faults))).toEqual(
      pages[0],
    );
    // offsets stay honoured in that order
    expect(oidsOf(q(layer, page(1, 1), faults))).toEqual([pages[0]![1]]);
    // ordering on another field is honoured
    const byValue = q(layer, page(0, MAX, 'value ASC'), faults).features.map(
      (f) => f.attributes.value as number,
    );
    expect(byValue).toEqual([...byValue].sort((a, b) => a - b));
    // without the quirk: OID order
    expect(ascending(oidsOf(q(layer, page(0))))).toBe(true);
  });
});

describe('pageCap', () => {
  it('cuts pages at N rows without exceededTransferLimit, paging and objectIds queries alike', () => {
    const capped = q(layer, page(0), { pageCap: 30 });
    expect(oidsOf(capped)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(capped.exceededTransferLimit).toBeUndefined();
    const byIds = q(
      layer,
      { objectIds: Array.from({ length: 40 }, (_, i) => i + 1).join(',') },
      { pageCap: 30 },
    );
    expect(byIds.features).toHaveLength(30);
    expect(byIds.exceededTransferLimit).toBeUndefined();
    // smaller pages pass untouched
    expect(q(layer, page(0, 20), { pageCap: 30 }).features).toHaveLength(20);
  });
});

describe('emptyStatistics', () => {
  it('answers {} to outStatistics, counts and ids as usual', () => {
    const stats = JSON.stringify([
      { statisticType: 'max', onStatisticField: 'OBJECTID', outStatisticFieldName: 'M' },
    ]);
    expect(
      q<Record<string, unknown>>(layer, { where: '1=1', outStatistics: stats }, { emptyStatistics: true }),
    ).toEqual({});
    expect(q<{ features: unknown[] }>(layer, { where: '1=1', outStatistics: stats }).features).toHaveLength(
      1,
    );
    expect(
      q<{ count: number }>(layer, { where: '1=1', returnCountOnly: 'true' }, { emptyStatistics: true }).count,
    ).toBe(175);
  });
});

describe('offsetDepth', () => {
  it('honours offsets up to the depth, then answers empty pages without a flag', () => {
    const faults = { offsetDepth: 100 };
    expect(oidsOf(q(layer, page(100), faults))[0]).toBe(101);
    const deep = q(layer, page(101), faults);
    expect(deep.features).toHaveLength(0);
    expect(deep.exceededTransferLimit).toBeUndefined();
  });
});

describe('null geometries', () => {
  it('a share of generated features have a null geometry; the other rows are unchanged', async () => {
    const [plain, holed] = (await loadLayers({
      layers: [
        { service: 'a', generate: { count: 200, geometry: 'polygon', seed: 3 } },
        { service: 'b', generate: { count: 200, geometry: 'polygon', seed: 3, nullGeometries: 0.2 } },
      ],
    })) as [EmulatedLayer, EmulatedLayer];
    let nulls = 0;
    for (const oid of plain.objectIds()) {
      const g = holed.feature(oid)!.geometry;
      if (g === null || g === undefined) nulls++;
      else expect(g).toEqual(plain.feature(oid)!.geometry);
    }
    expect(nulls).toBeGreaterThan(20);
    expect(nulls).toBeLessThan(60);
    // an envelope over everything cannot see them
    const seen = q(holed, { geometry: '-180,-90,180,90', returnGeometry: 'false', returnCountOnly: 'true' });
    expect((seen as unknown as { count: number }).count).toBe(200 - nulls);
  });

  it('startEmulator({ faults: { nullGeometries } }) applies to generated layers', async () => {
    const emu = await startEmulator({
      layers: [{ service: 'Lines', generate: { count: 100, geometry: 'polyline', seed: 5 } }],
      faults: { nullGeometries: 0.3 },
    });
    try {
      const l = emu.layer('Lines');
      const nulls = l.objectIds().filter((oid) => !l.feature(oid)!.geometry).length;
      expect(nulls).toBeGreaterThan(10);
    } finally {
      await emu.stop();
    }
  });
});

describe('CLI flags', () => {
  it('map to the fault options', () => {
    const options = emulatorCommandOptions({
      ignoreOrderBy: true,
      pageCap: '300',
      emptyStatistics: true,
      offsetDepth: '1000',
      nullGeometries: '0.1',
    });
    expect(options.faults).toEqual({
      ignoreOrderBy: true,
      pageCap: 300,
      emptyStatistics: true,
      offsetDepth: 1000,
      nullGeometries: 0.1,
    });
    expect(() => emulatorCommandOptions({ nullGeometries: '2' })).toThrow(/between 0 and 1/);
    expect(() => emulatorCommandOptions({ pageCap: '0' })).toThrow(/page-cap/);
  });
});
