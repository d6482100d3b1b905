/**
 * The wkid → datum table, WKT datum names, and the comparison behind the datum warning of export.
 */
import { describe, expect, it } from 'vitest';
import { datumOf, datumOfWkid, datumOfWkt, datumWarning } from '../../src/features/datums.js';
import { recordedJson } from '../fixtures/recorded.js';

describe('datumOfWkid', () => {
  it.each([
    [4326, 'WGS 84'],
    [3857, 'WGS 84'],
    [102100, 'WGS 84'],
    [32601, 'WGS 84'],
    [32633, 'WGS 84'],
    [32760, 'WGS 84'],
    [4269, 'NAD83'],
    [26910, 'NAD83'],
    [2263, 'NAD83'],
    [26986, 'NAD83'],
    [5070, 'NAD83'],
    [102003, 'NAD83'],
    [4152, 'NAD83(HARN)'],
    [6318, 'NAD83(2011)'],
    [4267, 'NAD27'],
    [26710, 'NAD27'],
    [26741, 'NAD27'],
    [4258, 'ETRS89'],
    [25832, 'ETRS89'],
    [3035, 'ETRS89'],
    [23031, 'ED50'],
    [27700, 'OSGB36'],
    [4277, 'OSGB36'],
    [31467, 'DHDN'],
    [28355, 'GDA94'],
    [7855, 'GDA2020'],
    [2193, 'NZGD2000'],
  ] as const)('%i is %s', (wkid, datum) => {
    expect(datumOfWkid(wkid)).toBe(datum);
  });

  it('an id outside the table (and the ends of the ranges) has no known datum', () => {
    for (const wkid of [0, 2154, 32600, 32661, 32700, 26900, 26924, 26728, 26799, 2221, 2290, 999999]) {
      expect(datumOfWkid(wkid), String(wkid)).toBeUndefined();
    }
  });
});

describe('datumOfWkt', () => {
  it("reads Esri's D_ names and OGC names, without case or punctuation", () => {
    expect(
      datumOfWkt(
        'GEOGCS["GCS_North_American_1983",DATUM["D_North_American_1983",SPHEROID["GRS_1980",6378137.0,298.257222101]]]',
      ),
    ).toBe('NAD83');
    expect(
      datumOfWkt(
        'PROJCS["x",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137,298.257223563]]]]',
      ),
    ).toBe('WGS 84');
    expect(
      datumOfWkt('GEOGCS["OSGB 1936",DATUM["OSGB_1936",SPHEROID["Airy 1830",6377563.396,299.3249646]]]'),
    ).toBe('OSGB36');
    expect(
      datumOfWkt(
        'GEOGCRS["ETRS89",DATUM["European Terrestrial Reference System 1989",ELLIPSOID["GRS 1980",6378137,298.257222101]]]',
      ),
    ).toBe('ETRS89');
    expect(datumOfWkt('datum [ "d_gda2020" ]')).toBe('GDA2020');
  });

  it('no DATUM, or a name it does not know: undefined', () => {
    expect(datumOfWkt('LOCAL_CS["site"]')).toBeUndefined();
    expect(datumOfWkt('GEOGCS["x",DATUM["D_Somewhere_Local",SPHEROID["y",1,1]]]')).toBeUndefined();
  });
});

describe('datumOf', () => {
  it('latestWkid first, then wkid, then the WKT; a bare number is a wkid', () => {
    expect(datumOf({ wkid: 102100, latestWkid: 3857 })).toBe('WGS 84');
    expect(datumOf({ wkid: 4269 })).toBe('NAD83');
    expect(datumOf({ latestWkid: 4267 })).toBe('NAD27');
    expect(datumOf({ wkid: 123456, wkt: 'GEOGCS["x",DATUM["D_North_American_1927"]]' })).toBe('NAD27');
    expect(datumOf(27700)).toBe('OSGB36');
    expect(datumOf(undefined)).toBeUndefined();
    expect(datumOf({})).toBeUndefined();
  });

  it('recorded county layers in State Plane feet (Esri 102643/102695, EPSG 2227/2255) are NAD83', () => {
    for (const name of ['us-ca-tuolumne', 'us-ms-madison']) {
      const meta = recordedJson<{ extent: { spatialReference: { wkid: number; latestWkid: number } } }>(
        `${name}/${name}-metadata.json`,
      );
      expect(datumOf(meta.extent.spatialReference), name).toBe('NAD83');
      expect(datumWarning(meta.extent.spatialReference, 4326, false), name).toContain('NAD83');
    }
  });
});

describe('datumWarning', () => {
  it('names both datums, the server default and --datum-transformation when the datums differ', () => {
    const message = datumWarning({ wkid: 4269, latestWkid: 4269 }, 4326, false);
    expect(message).toContain('NAD83');
    expect(message).toContain('WGS 84');
    expect(message).toContain('wkid 4269');
    expect(message).toContain('--out-sr 4326');
    expect(message).toContain('default datum transformation');
    expect(message).toContain('--datum-transformation <wkid|json>');
    expect(datumWarning({ wkt: 'GEOGCS["x",DATUM["D_OSGB_1936"]]' }, 3857, false)).toContain('(WKT)');
  });

  it('nothing with a transformation given, the same datum, or a datum it does not know', () => {
    expect(datumWarning({ wkid: 4269 }, 4326, true)).toBeUndefined();
    expect(datumWarning({ wkid: 102100, latestWkid: 3857 }, 4326, false)).toBeUndefined();
    expect(datumWarning({ wkid: 26910 }, 2263, false)).toBeUndefined();
    expect(datumWarning({ wkid: 2154 }, 4326, false)).toBeUndefined();
    expect(datumWarning({ wkid: 4269 }, 2154, false)).toBeUndefined();
    expect(datumWarning(undefined, 4326, false)).toBeUndefined();
  });
});
