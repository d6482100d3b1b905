/**
 * The geodetic datum (geographic base) of a spatial reference, from a small table of well-known
 * ids, for one check: a layer whose data is on another datum than the export's `outSR` is projected
 * with the server's default datum transformation unless `--datum-transformation` names one. ArcGIS
 * does not say in its answers that it transformed, so the check compares what we know: the layer's
 * spatial reference and the output's.
 *
 * The table lists only ids whose datum is certain (EPSG and Esri registries): geographic systems and
 * the projected families built on them (UTM zones, national grids, US State Plane ranges). An id not
 * in the table has an unknown datum, and an unknown datum never warns. Realizations that ArcGIS
 * transforms between (NAD83 and NAD83(HARN), NAD83(2011), NAD83(CSRS); GDA94 and GDA2020) are
 * distinct datums here. A spatial reference given as WKT is read by its `DATUM["…"]` name.
 */
import type { SpatialReference } from '../core/protocol.js';

/** Datum names as users know them. */
export type DatumName =
  | 'WGS 84'
  | 'NAD83'
  | 'NAD83(HARN)'
  | 'NAD83(NSRS2007)'
  | 'NAD83(2011)'
  | 'NAD83(CSRS)'
  | 'NAD27'
  | 'ETRS89'
  | 'ED50'
  | 'OSGB36'
  | 'DHDN'
  | 'GDA94'
  | 'GDA2020'
  | 'NZGD2000'
  | 'JGD2000'
  | 'JGD2011'
  | 'Tokyo'
  | 'SIRGAS 2000';

/** Single ids (geographic systems, and projected ones outside a family range). */
const SINGLE: Readonly<Record<number, DatumName>> = {
  // WGS 84: geographic (2D, 3D), Web Mercator (EPSG and its Esri ids), World Mercator, polar
  // stereographics (Antarctic; NSIDC Sea Ice north)
  4326: 'WGS 84',
  4979: 'WGS 84',
  3857: 'WGS 84',
  102100: 'WGS 84',
  102113: 'WGS 84',
  900913: 'WGS 84',
  3395: 'WGS 84',
  3031: 'WGS 84',
  3413: 'WGS 84',
  // NAD83: geographic, Conus Albers (EPSG 5070, Esri 102003 and the USGS version 102039), North
  // America Albers (Esri 102008), Alaska Albers (3338)
  4269: 'NAD83',
  5070: 'NAD83',
  102003: 'NAD83',
  102039: 'NAD83',
  102008: 'NAD83',
  3338: 'NAD83',
  4152: 'NAD83(HARN)',
  4759: 'NAD83(NSRS2007)',
  6318: 'NAD83(2011)',
  4617: 'NAD83(CSRS)',
  4267: 'NAD27',
  // ETRS89: geographic, Europe LAEA and LCC
  4258: 'ETRS89',
  3035: 'ETRS89',
  3034: 'ETRS89',
  4230: 'ED50',
  // OSGB36: geographic, British National Grid
  4277: 'OSGB36',
  27700: 'OSGB36',
  4314: 'DHDN',
  // GDA94 / GDA2020: geographic, Australian Albers
  4283: 'GDA94',
  3577: 'GDA94',
  7844: 'GDA2020',
  9473: 'GDA2020',
  // NZGD2000: geographic, New Zealand Transverse Mercator
  4167: 'NZGD2000',
  2193: 'NZGD2000',
  4612: 'JGD2000',
  6668: 'JGD2011',
  4301: 'Tokyo',
  4674: 'SIRGAS 2000',
};

/** Inclusive ranges of ids of one datum (projected families). */
const RANGES: readonly (readonly [number, number, DatumName])[] = [
  [32601, 32660, 'WGS 84'], // WGS 84 / UTM zones 1N–60N
  [32701, 32760, 'WGS 84'], // WGS 84 / UTM zones 1S–60S
  [26901, 26923, 'NAD83'], // NAD83 / UTM zones 1N–23N
  [26929, 26998, 'NAD83'], // NAD83 / State Plane (metres)
  [2222, 2289, 'NAD83'], // NAD83 / State Plane (US and international feet)
  [26701, 26722, 'NAD27'], // NAD27 / UTM zones 1N–22N
  [26729, 26798, 'NAD27'], // NAD27 / State Plane
  [25828, 25838, 'ETRS89'], // ETRS89 / UTM zones 28N–38N
  [23028, 23038, 'ED50'], // ED50 / UTM zones 28N–38N
  [31466, 31469, 'DHDN'], // DHDN / 3-degree Gauss-Kruger zones 2–5
  [28348, 28358, 'GDA94'], // GDA94 / MGA zones 48–58
  [7846, 7859, 'GDA2020'], // GDA2020 / MGA zones 46–59
];

/**
 * WKT datum names (Esri's `D_…` and OGC's), compared without case, `D_` prefix or punctuation.
 */
const WKT_NAMES: Readonly<Record<string, DatumName>> = {
  wgs1984: 'WGS 84',
  worldgeodeticsystem1984: 'WGS 84',
  northamerican1983: 'NAD83',
  northamericandatum1983: 'NAD83',
  nad1983harn: 'NAD83(HARN)',
  northamerican1983harn: 'NAD83(HARN)',
  nad19832011: 'NAD83(2011)',
  northamerican1983csrs: 'NAD83(CSRS)',
  northamerican1927: 'NAD27',
  northamericandatum1927: 'NAD27',
  etrs1989: 'ETRS89',
  europeanterrestrialreferencesystem1989: 'ETRS89',
  european1950: 'ED50',
  europeandatum1950: 'ED50',
  osgb1936: 'OSGB36',
  deutscheshauptdreiecksnetz: 'DHDN',
  gda1994: 'GDA94',
  geocentricdatumofaustralia1994: 'GDA94',
  gda2020: 'GDA2020',
  geocentricdatumofaustralia2020: 'GDA2020',
  nzgd2000: 'NZGD2000',
  newzealandgeodeticdatum2000: 'NZGD2000',
};

/** The datum of a well-known id; undefined when the table does not know it. */
export function datumOfWkid(wkid: number): DatumName | undefined {
  const single = SINGLE[wkid];
  if (single !== undefined) return single;
  return RANGES.find(([from, to]) => wkid >= from && wkid <= to)?.[2];
}

/** The datum of a WKT text (its first `DATUM["…"]`); undefined when absent or not known. */
export function datumOfWkt(wkt: string): DatumName | undefined {
  const m = /DATUM\s*\[\s*"([^"]+)"/i.exec(wkt);
  if (!m) return undefined;
  const key = m[1]!
    .replace(/^D_/i, '')
    .replace(/[^A-Za-z0-9]/g, '')
    .toLowerCase();
  return WKT_NAMES[key];
}

/** The datum of a spatial reference: latestWkid, then wkid, then WKT. */
export function datumOf(sr: SpatialReference | number | undefined): DatumName | undefined {
  if (sr === undefined) return undefined;
  if (typeof sr === 'number') return datumOfWkid(sr);
  for (const id of [sr.latestWkid, sr.wkid]) {
    const datum = typeof id === 'number' ? datumOfWkid(id) : undefined;
    if (datum !== undefined) return datum;
  }
  return typeof sr.wkt === 'string' ? datumOfWkt(sr.wkt) : undefined;
}

/** How a spatial reference is named in a message: its wkid, else "WKT". */
function label(sr: SpatialReference): string {
  const id = sr.latestWkid ?? sr.wkid;
  return id === undefined ? 'WKT' : `wkid ${id}`;
}

/**
 * The warning for a projection from `layer` to the wkid `out` across datums with no transformation given;
 * undefined when a transformation is given, either datum is unknown, or they are the same.
 */
export function datumWarning(
  layer: SpatialReference | undefined,
  out: number,
  transformationGiven: boolean,
): string | undefined {
  if (transformationGiven || layer === undefined) return undefined;
  const from = datumOf(layer);
  const to = datumOf(out);
  if (from === undefined || to === undefined || from === to) return undefined;
  return (
    `the layer's data is on the ${from} datum (${label(layer)}) and the output on ${to} (--out-sr ${out}): ` +
    'the server projects with its own default datum transformation, if it has one; ' +
    '--datum-transformation <wkid|json> chooses one'
  );
}
