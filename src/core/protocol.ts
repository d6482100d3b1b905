/**
 * ArcGIS REST shapes shared by the client side and the emulator, and the few protocol constants both
 * go by (where-clause keywords, the enums of the `f=pbf` FeatureCollection).
 */
export type EsriFieldType =
  | 'esriFieldTypeOID'
  | 'esriFieldTypeInteger'
  | 'esriFieldTypeSmallInteger'
  | 'esriFieldTypeBigInteger'
  | 'esriFieldTypeDouble'
  | 'esriFieldTypeSingle'
  | 'esriFieldTypeString'
  | 'esriFieldTypeDate'
  | 'esriFieldTypeDateOnly'
  | 'esriFieldTypeTimeOnly'
  | 'esriFieldTypeTimestampOffset'
  | 'esriFieldTypeGlobalID'
  | 'esriFieldTypeGUID'
  | 'esriFieldTypeGeometry'
  | 'esriFieldTypeBlob'
  | 'esriFieldTypeRaster'
  | 'esriFieldTypeXML';

export interface EsriField {
  name: string;
  type: EsriFieldType | string;
  alias?: string;
  length?: number;
  nullable?: boolean;
  domain?: unknown;
}

export type EsriGeometryType =
  | 'esriGeometryPoint'
  | 'esriGeometryMultipoint'
  | 'esriGeometryPolyline'
  | 'esriGeometryPolygon'
  | 'esriGeometryEnvelope';

export interface SpatialReference {
  wkid?: number;
  latestWkid?: number;
  /** Vertical coordinate system (layers with z). */
  vcsWkid?: number;
  latestVcsWkid?: number;
  wkt?: string;
}

/** A position: [x, y], [x, y, z], [x, y, m] (hasM only) or [x, y, z, m]; a missing m is null. */
export type EsriPosition = (number | null)[];

export interface EsriPoint {
  x: number | 'NaN' | null;
  y: number | 'NaN' | null;
  z?: number;
  m?: number | null;
  spatialReference?: SpatialReference;
}
export interface EsriMultipoint {
  points: EsriPosition[];
  hasZ?: boolean;
  hasM?: boolean;
  spatialReference?: SpatialReference;
}
export interface EsriPolyline {
  paths: EsriPosition[][];
  hasZ?: boolean;
  hasM?: boolean;
  spatialReference?: SpatialReference;
}
export interface EsriPolygon {
  rings: EsriPosition[][];
  hasZ?: boolean;
  hasM?: boolean;
  spatialReference?: SpatialReference;
}
export interface EsriEnvelope {
  xmin: number;
  ymin: number;
  xmax: number;
  ymax: number;
  spatialReference?: SpatialReference;
}
export interface EsriCurveGeometry {
  curveRings?: unknown[];
  curvePaths?: unknown[];
}
export type EsriGeometry =
  | EsriPoint
  | EsriMultipoint
  | EsriPolyline
  | EsriPolygon
  | EsriEnvelope
  | EsriCurveGeometry;

export interface EsriFeature {
  attributes: Record<string, unknown>;
  geometry?: EsriGeometry | null;
}

export interface EsriQueryResponse {
  objectIdFieldName?: string;
  geometryType?: EsriGeometryType;
  spatialReference?: SpatialReference;
  hasZ?: boolean;
  hasM?: boolean;
  fields?: EsriField[];
  features: EsriFeature[];
  exceededTransferLimit?: boolean;
}

export interface LayerMetadata {
  currentVersion?: number;
  id?: number;
  name?: string;
  type?: string;
  geometryType?: EsriGeometryType;
  objectIdField?: string;
  fields?: EsriField[];
  maxRecordCount?: number;
  hasZ?: boolean;
  hasM?: boolean;
  extent?: EsriEnvelope;
  supportedQueryFormats?: string;
  capabilities?: string;
  advancedQueryCapabilities?: {
    supportsPagination?: boolean;
    supportsStatistics?: boolean;
    supportsOrderBy?: boolean;
  };
  supportsStatistics?: boolean;
  supportsAdvancedQueries?: boolean;
}

/** `{"error": {...}}`, the usual ArcGIS error envelope (often on HTTP 200). */
export interface EsriErrorEnvelope {
  error: { code: number; message?: string; messageCode?: string; details?: string[] };
}

/** `{"status":"error","messages":[...],"code":N}`, the Server Administrator API shape. */
export interface EsriAdminError {
  status: 'error';
  messages?: string[];
  code?: number;
}

export type TokenClientType = 'requestip' | 'referer' | 'ip';

/**
 * The keywords of an ArcGIS `where` clause (the SQL-92 subset query layers accept): never a field
 * name. The emulator's parser and the client's where builder both go by this list.
 */
export const WHERE_KEYWORDS: ReadonlySet<string> = new Set([
  'AND',
  'OR',
  'NOT',
  'IN',
  'LIKE',
  'IS',
  'NULL',
  'BETWEEN',
  'ESCAPE',
  'DATE',
  'TIMESTAMP',
]);

/**
 * esriPBuffer.FeatureCollectionPBuffer.GeometryType, by enum value: Point 0 … Polygon 3, Envelope 5.
 * Multipatch (4) has no Esri JSON geometry type; None (127) is a table's.
 */
export const PBF_GEOMETRY_TYPES: Readonly<Record<number, EsriGeometryType>> = {
  0: 'esriGeometryPoint',
  1: 'esriGeometryMultipoint',
  2: 'esriGeometryPolyline',
  3: 'esriGeometryPolygon',
  5: 'esriGeometryEnvelope',
};
export const PBF_GEOMETRY_MULTIPATCH = 4;
export const PBF_GEOMETRY_NONE = 127;

/** esriPBuffer.FeatureCollectionPBuffer.FieldType, by enum value (FeatureCollection.proto, 0 to 16). */
export const PBF_FIELD_TYPES: readonly EsriFieldType[] = [
  'esriFieldTypeSmallInteger',
  'esriFieldTypeInteger',
  'esriFieldTypeSingle',
  'esriFieldTypeDouble',
  'esriFieldTypeString',
  'esriFieldTypeDate',
  'esriFieldTypeOID',
  'esriFieldTypeGeometry',
  'esriFieldTypeBlob',
  'esriFieldTypeRaster',
  'esriFieldTypeGUID',
  'esriFieldTypeGlobalID',
  'esriFieldTypeXML',
  'esriFieldTypeBigInteger',
  'esriFieldTypeDateOnly',
  'esriFieldTypeTimeOnly',
  'esriFieldTypeTimestampOffset',
];
