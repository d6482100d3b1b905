/**
 * The layer resource (`{layer}?f=json`), shaped like the recorded answers of real servers.
 */
import type { EsriField, EsriGeometryType, LayerMetadata } from '../../core/protocol.js';
import type { LayerCapabilities } from '../types.js';

export const CURRENT_VERSION = 10.91;
export const DEFAULT_MAX_RECORD_COUNT = 2000;
export const WGS84 = { wkid: 4326, latestWkid: 4326 } as const;

export interface MetadataInput {
  id: number;
  name: string;
  geometryType: EsriGeometryType;
  hasZ: boolean;
  hasM: boolean;
  objectIdField: string;
  displayField: string;
  /** Attribute fields (OID first), without the geometry field. */
  fields: readonly EsriField[];
  extent: readonly [number, number, number, number] | undefined;
  maxRecordCount: number;
  capabilities: Required<LayerCapabilities>;
}

/** A field as the layer resource describes it. */
export function metadataField(field: EsriField): EsriField & Record<string, unknown> {
  const isOid = field.type === 'esriFieldTypeOID';
  return {
    name: field.name,
    type: field.type,
    alias: field.alias ?? field.name,
    sqlType: 'sqlTypeOther',
    ...(field.length === undefined ? {} : { length: field.length }),
    nullable: isOid ? false : field.nullable !== false,
    editable: !isOid,
    domain: null,
    defaultValue: null,
  };
}

/** Name of the geometry field, avoiding a clash with an attribute. */
export function geometryFieldName(fields: readonly EsriField[]): string {
  const taken = new Set(fields.map((f) => f.name.toLowerCase()));
  for (const name of ['Shape', 'SHAPE_GEOM', 'GEOMETRY_SHAPE'])
    if (!taken.has(name.toLowerCase())) return name;
  return '__Shape';
}

/** A plain renderer, as a layer without styling answers it. */
function drawingInfo(geometryType: EsriGeometryType): Record<string, unknown> {
  const outline = { type: 'esriSLS', style: 'esriSLSSolid', color: [0, 0, 0, 255], width: 0.7 };
  const symbol =
    geometryType === 'esriGeometryPolyline'
      ? outline
      : geometryType === 'esriGeometryPolygon'
        ? { type: 'esriSFS', style: 'esriSFSSolid', color: [0, 112, 255, 64], outline }
        : {
            type: 'esriSMS',
            style: 'esriSMSCircle',
            color: [0, 112, 255, 255],
            size: 4,
            angle: 0,
            xoffset: 0,
            yoffset: 0,
            outline: { color: [0, 0, 0, 255], width: 0.7 },
          };
  return {
    renderer: { type: 'simple', symbol, label: '', description: '' },
    transparency: 0,
    labelingInfo: null,
  };
}

/** `supportedQueryFormats`, worded as ArcGIS Online hosted layers word it: "JSON, geoJSON, PBF". */
function queryFormats(caps: Required<LayerCapabilities>): string {
  return ['JSON', ...(caps.geojson ? ['geoJSON'] : []), ...(caps.pbf ? ['PBF'] : [])].join(', ');
}

export function buildMetadata(input: MetadataInput): LayerMetadata & Record<string, unknown> {
  const caps = input.capabilities;
  const shape = geometryFieldName(input.fields);
  const extent = input.extent
    ? {
        xmin: input.extent[0],
        ymin: input.extent[1],
        xmax: input.extent[2],
        ymax: input.extent[3],
        spatialReference: { ...WGS84 },
      }
    : // what real servers answer for an empty layer
      ({ xmin: 'NaN', ymin: 'NaN', xmax: 'NaN', ymax: 'NaN', spatialReference: { ...WGS84 } } as unknown as {
        xmin: number;
        ymin: number;
        xmax: number;
        ymax: number;
      });
  const advancedQueryCapabilities = {
    useStandardizedQueries: true,
    supportsStatistics: caps.statistics,
    supportsHavingClause: false,
    supportsCountDistinct: false,
    supportsOrderBy: true,
    supportsDistinct: false,
    supportsPagination: caps.pagination,
    supportsTrueCurve: false,
    supportsReturningQueryExtent: false,
    supportsQueryWithDistance: false,
    supportsSqlExpression: false,
  };
  return {
    currentVersion: CURRENT_VERSION,
    id: input.id,
    name: input.name,
    type: 'Feature Layer',
    description: '',
    geometryType: input.geometryType,
    sourceSpatialReference: { ...WGS84 },
    copyrightText: '',
    parentLayer: null,
    subLayers: [],
    minScale: 0,
    maxScale: 0,
    drawingInfo: drawingInfo(input.geometryType),
    defaultVisibility: true,
    extent,
    hasAttachments: false,
    htmlPopupType: 'esriServerHTMLPopupTypeNone',
    displayField: input.displayField,
    typeIdField: null,
    subtypeFieldName: null,
    subtypeField: null,
    defaultSubtypeCode: null,
    fields: [
      ...input.fields.map(metadataField),
      { name: shape, type: 'esriFieldTypeGeometry', alias: shape, domain: null },
    ],
    geometryField: { name: shape, type: 'esriFieldTypeGeometry', alias: shape },
    indexes: [],
    subtypes: [],
    relationships: [],
    canModifyLayer: false,
    canScaleSymbols: false,
    hasLabels: false,
    capabilities: 'Query',
    maxRecordCount: input.maxRecordCount,
    supportsStatistics: caps.statistics,
    supportsAdvancedQueries: true,
    supportedQueryFormats: queryFormats(caps),
    isDataVersioned: false,
    ownershipBasedAccessControlForFeatures: { allowOthersToQuery: true },
    useStandardizedQueries: true,
    advancedQueryCapabilities,
    supportsDatumTransformation: false,
    supportsCoordinatesQuantization: false,
    hasZ: input.hasZ,
    hasM: input.hasM,
    objectIdField: input.objectIdField,
    globalIdField: '',
    standardMaxRecordCount: input.maxRecordCount,
    tileMaxRecordCount: input.maxRecordCount,
    maxRecordCountFactor: 1,
  };
}
