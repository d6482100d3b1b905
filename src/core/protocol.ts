/**
 * ArcGIS REST JSON shapes shared by the client side and the emulator (types only).
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
  wkt?: string;
}

/** A position: [x, y], [x, y, z], [x, y, m] (hasM only) or [x, y, z, m]. */
export type EsriPosition = number[];

export interface EsriPoint {
  x: number | 'NaN' | null;
  y: number | 'NaN' | null;
  z?: number;
  m?: number;
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
