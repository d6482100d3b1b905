/**
 * The GeoPackage 1.3 core tables, the layer's spatial reference, the feature table and its R-tree
 * spatial index (gpkg_rtree_index extension), as SQL. Esri field types map to GeoPackage types:
 * SmallInteger → SMALLINT, Integer → MEDIUMINT (32-bit), OID and BigInteger → INTEGER (64-bit,
 * exact), Single → FLOAT, Double → DOUBLE, Date → DATETIME (ISO 8601 UTC text), DateOnly → DATE,
 * String → TEXT(length), GUID and GlobalID → TEXT(38), everything else → TEXT.
 */
import type { EsriField, EsriGeometryType } from '../../core/protocol.js';
import { knownSrs, srsAuthority } from '../srs.js';

export type GpkgValueKind = 'integer' | 'real' | 'datetime' | 'text';

export interface GpkgColumn {
  name: string;
  sqlType: string;
  kind: GpkgValueKind;
}

/** `"name"` with inner quotes doubled. */
export function quoteId(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function textType(length: number | undefined): string {
  return length !== undefined && length > 0 && length <= 1_000_000 ? `TEXT(${length})` : 'TEXT';
}

export function gpkgColumn(field: EsriField): GpkgColumn {
  const name = field.name;
  switch (field.type) {
    case 'esriFieldTypeSmallInteger':
      return { name, sqlType: 'SMALLINT', kind: 'integer' };
    case 'esriFieldTypeInteger':
      return { name, sqlType: 'MEDIUMINT', kind: 'integer' };
    case 'esriFieldTypeOID':
    case 'esriFieldTypeBigInteger':
      return { name, sqlType: 'INTEGER', kind: 'integer' };
    case 'esriFieldTypeSingle':
      return { name, sqlType: 'FLOAT', kind: 'real' };
    case 'esriFieldTypeDouble':
      return { name, sqlType: 'DOUBLE', kind: 'real' };
    case 'esriFieldTypeDate':
      return { name, sqlType: 'DATETIME', kind: 'datetime' };
    case 'esriFieldTypeDateOnly':
      return { name, sqlType: 'DATE', kind: 'text' };
    case 'esriFieldTypeGUID':
    case 'esriFieldTypeGlobalID':
      return { name, sqlType: 'TEXT(38)', kind: 'text' };
    case 'esriFieldTypeString':
      return { name, sqlType: textType(field.length), kind: 'text' };
    default:
      return { name, sqlType: 'TEXT', kind: 'text' };
  }
}

const GEOMETRY_TYPE_NAMES: Readonly<Record<string, string>> = {
  esriGeometryPoint: 'POINT',
  esriGeometryMultipoint: 'MULTIPOINT',
  // lines and polygons are always written as their multi type (one type per layer)
  esriGeometryPolyline: 'MULTILINESTRING',
  esriGeometryPolygon: 'MULTIPOLYGON',
};

export function geometryTypeName(type: EsriGeometryType | undefined): string {
  return (type === undefined ? undefined : GEOMETRY_TYPE_NAMES[type]) ?? 'GEOMETRY';
}

export const CORE_TABLES = `
CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE IF NOT EXISTS gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE IF NOT EXISTS gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
  scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
`;

const WGS84_WKT =
  'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]';

export interface SrsRow {
  srs_name: string;
  srs_id: number;
  organization: string;
  organization_coordsys_id: number;
  definition: string;
  description: string;
}

/** The three rows every GeoPackage has (GeoPackage 1.3, 1.1.2.1.2). */
export const REQUIRED_SRS: readonly SrsRow[] = [
  {
    srs_name: 'Undefined cartesian SRS',
    srs_id: -1,
    organization: 'NONE',
    organization_coordsys_id: -1,
    definition: 'undefined',
    description: 'undefined cartesian coordinate reference system',
  },
  {
    srs_name: 'Undefined geographic SRS',
    srs_id: 0,
    organization: 'NONE',
    organization_coordsys_id: 0,
    definition: 'undefined',
    description: 'undefined geographic coordinate reference system',
  },
  {
    srs_name: 'WGS 84 geodetic',
    srs_id: 4326,
    organization: 'EPSG',
    organization_coordsys_id: 4326,
    definition: WGS84_WKT,
    description: 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid',
  },
];

/**
 * The row of a layer's wkid: its WKT when arcgis-etl knows it (4326, 3857 and Esri's aliases of
 * 3857, registered as EPSG:3857), else the authority and code with an `undefined` definition and a
 * description saying so (GDAL and QGIS then look the code up in their own EPSG database).
 */
export function srsRow(wkid: number): SrsRow {
  const known = knownSrs(wkid);
  if (known !== undefined) {
    return {
      srs_name: known.name,
      srs_id: known.epsg,
      organization: 'EPSG',
      organization_coordsys_id: known.epsg,
      definition: known.wkt,
      description: `EPSG:${known.epsg}`,
    };
  }
  const authority = srsAuthority(wkid);
  return {
    srs_name: `${authority}:${wkid}`,
    srs_id: wkid,
    organization: authority,
    organization_coordsys_id: wkid,
    definition: 'undefined',
    description: `${authority}:${wkid} as the ArcGIS server named it (wkid ${wkid}); arcgis-etl has no definition of it, look it up by organization and code`,
  };
}

export function rtreeName(table: string, column: string): string {
  return `rtree_${table}_${column}`;
}

/** The R-tree index triggers of GeoPackage 1.3 (F.3): they keep the index right after later edits. */
export function rtreeTriggers(table: string, column: string, pk: string): string {
  const r = rtreeName(table, column);
  const t = quoteId(table);
  const c = quoteId(column);
  const i = quoteId(pk);
  const rq = quoteId(r);
  const trigger = (suffix: string) => quoteId(`${r}_${suffix}`);
  const box = (row: string) =>
    `ST_MinX(${row}.${c}), ST_MaxX(${row}.${c}), ST_MinY(${row}.${c}), ST_MaxY(${row}.${c})`;
  return `
CREATE TRIGGER ${trigger('insert')} AFTER INSERT ON ${t}
WHEN (new.${c} NOT NULL AND NOT ST_IsEmpty(NEW.${c}))
BEGIN INSERT OR REPLACE INTO ${rq} VALUES (NEW.${i}, ${box('NEW')}); END;
CREATE TRIGGER ${trigger('update1')} AFTER UPDATE OF ${c} ON ${t}
WHEN OLD.${i} = NEW.${i} AND (NEW.${c} NOTNULL AND NOT ST_IsEmpty(NEW.${c}))
BEGIN INSERT OR REPLACE INTO ${rq} VALUES (NEW.${i}, ${box('NEW')}); END;
CREATE TRIGGER ${trigger('update2')} AFTER UPDATE OF ${c} ON ${t}
WHEN OLD.${i} = NEW.${i} AND (NEW.${c} ISNULL OR ST_IsEmpty(NEW.${c}))
BEGIN DELETE FROM ${rq} WHERE id = OLD.${i}; END;
CREATE TRIGGER ${trigger('update3')} AFTER UPDATE ON ${t}
WHEN OLD.${i} != NEW.${i} AND (NEW.${c} NOTNULL AND NOT ST_IsEmpty(NEW.${c}))
BEGIN DELETE FROM ${rq} WHERE id = OLD.${i}; INSERT OR REPLACE INTO ${rq} VALUES (NEW.${i}, ${box('NEW')}); END;
CREATE TRIGGER ${trigger('update4')} AFTER UPDATE ON ${t}
WHEN OLD.${i} != NEW.${i} AND (NEW.${c} ISNULL OR ST_IsEmpty(NEW.${c}))
BEGIN DELETE FROM ${rq} WHERE id IN (OLD.${i}, NEW.${i}); END;
CREATE TRIGGER ${trigger('delete')} AFTER DELETE ON ${t}
WHEN old.${c} NOT NULL
BEGIN DELETE FROM ${rq} WHERE id = OLD.${i}; END;
`;
}

export const TRIGGER_SUFFIXES = ['insert', 'update1', 'update2', 'update3', 'update4', 'delete'] as const;
