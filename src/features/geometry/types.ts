/**
 * GeoJSON (RFC 7946) shapes produced by the converters, and the options they take.
 */
import type { EsriGeometryType } from '../../core/protocol.js';

/** [x, y], [x, y, z] or, with `keepM`, [x, y, z, m]. */
export type Position = number[];

export interface GeoJSONPoint {
  type: 'Point';
  coordinates: Position;
}
export interface GeoJSONMultiPoint {
  type: 'MultiPoint';
  coordinates: Position[];
}
export interface GeoJSONLineString {
  type: 'LineString';
  coordinates: Position[];
}
export interface GeoJSONMultiLineString {
  type: 'MultiLineString';
  coordinates: Position[][];
}
export interface GeoJSONPolygon {
  type: 'Polygon';
  coordinates: Position[][];
}
export interface GeoJSONMultiPolygon {
  type: 'MultiPolygon';
  coordinates: Position[][][];
}

export type GeoJSONGeometry =
  | GeoJSONPoint
  | GeoJSONMultiPoint
  | GeoJSONLineString
  | GeoJSONMultiLineString
  | GeoJSONPolygon
  | GeoJSONMultiPolygon;

export interface GeoJSONFeature {
  type: 'Feature';
  id?: number | string;
  geometry: GeoJSONGeometry | null;
  properties: Record<string, unknown>;
}

/** Something the converter repaired or dropped. Never silent: it is reported through `onIssue`. */
export type GeometryIssueKind =
  /** A ring with fewer than 4 positions (once closed) or zero area: dropped. */
  | 'degenerate-ring'
  /** A path with fewer than 2 positions: dropped. */
  | 'degenerate-path'
  /** A hole (counter-clockwise ring in Esri JSON) inside no outer ring: promoted to an outer ring. */
  | 'orphan-hole'
  /** A position whose x or y is not a finite number: dropped. */
  | 'invalid-position';

export interface GeometryIssue {
  kind: GeometryIssueKind;
  detail: string;
  /** Index of the ring, path or point concerned in the Esri geometry. */
  index?: number;
}

export interface ConvertOptions {
  /** The layer's (or query response's) geometry type. When given, a geometry of another shape is rejected. */
  geometryType?: EsriGeometryType | undefined;
  /** Positions carry Z (the layer or response says `hasZ`). The geometry's own `hasZ` also counts. */
  hasZ?: boolean | undefined;
  /** Positions carry M (the layer or response says `hasM`). The geometry's own `hasM` also counts. */
  hasM?: boolean | undefined;
  /**
   * Keep M as a 4th value. GeoJSON has no slot for M without Z, so this only applies when the
   * geometry has both Z and M: [x, y, z, m]. With M but no Z, M is always dropped.
   */
  keepM?: boolean | undefined;
  /**
   * The output may hold the input's own position arrays (those already in GeoJSON form), rather
   * than copies: for a caller that neither uses nor changes the input afterwards.
   */
  reuseInput?: boolean | undefined;
  onIssue?: ((issue: GeometryIssue) => void) | undefined;
}
