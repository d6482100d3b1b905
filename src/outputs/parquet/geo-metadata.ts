/**
 * The GeoParquet 1.1 `geo` file metadata: WKB encoding, the geometry types, the CRS as PROJJSON,
 * the bbox of every geometry and the bbox covering column.
 */
import { EtlError } from '../../core/errors.js';
import type { EsriGeometryType } from '../../core/protocol.js';
import { knownSrs } from '../srs.js';
import type { Envelope } from '../wkb.js';

const TYPES: Readonly<Record<string, string>> = {
  esriGeometryPoint: 'Point',
  esriGeometryMultipoint: 'MultiPoint',
  // lines and polygons are always written as their multi type (one type per layer)
  esriGeometryPolyline: 'MultiLineString',
  esriGeometryPolygon: 'MultiPolygon',
};

/** The GeoParquet geometry type of a layer, e.g. `MultiPolygon Z`. */
export function geoParquetType(geometryType: EsriGeometryType | undefined, hasZ: boolean): string {
  const type = geometryType === undefined ? undefined : TYPES[geometryType];
  if (type === undefined) {
    throw new EtlError('USAGE', `GeoParquet cannot hold ${String(geometryType)} geometries`);
  }
  return hasZ ? `${type} Z` : type;
}

/** The PROJJSON of a wkid; USAGE for one arcgis-etl has no definition of (GeoParquet needs it). */
export function projjsonFor(wkid: number): Record<string, unknown> {
  const srs = knownSrs(wkid);
  if (srs === undefined) {
    throw new EtlError(
      'USAGE',
      `GeoParquet needs the CRS as PROJJSON, which arcgis-etl has for wkid 4326 and 3857 only (not ${wkid}): use --out-sr 4326 or --out-sr 3857`,
    );
  }
  return srs.projjson;
}

export interface GeoMetadataInput {
  column: string;
  bboxColumn: string;
  geometryType: string;
  wkid: number;
  /** The bbox of every geometry written; undefined when none was. */
  envelope: Envelope | undefined;
}

export function geoMetadata(input: GeoMetadataInput): Record<string, unknown> {
  const { column, bboxColumn, envelope } = input;
  return {
    version: '1.1.0',
    primary_column: column,
    columns: {
      [column]: {
        encoding: 'WKB',
        geometry_types: [input.geometryType],
        crs: projjsonFor(input.wkid),
        ...(envelope === undefined
          ? {}
          : { bbox: [envelope.minX, envelope.minY, envelope.maxX, envelope.maxY] }),
        covering: {
          bbox: {
            xmin: [bboxColumn, 'xmin'],
            ymin: [bboxColumn, 'ymin'],
            xmax: [bboxColumn, 'xmax'],
            ymax: [bboxColumn, 'ymax'],
          },
        },
      },
    },
  };
}
