/**
 * Esri JSON feature → GeoJSON Feature.
 *
 * The properties follow the layer schema (`schema.fields`, in order), never the attributes of each
 * page, so that every feature of an export has the same properties in the same order: an attribute
 * missing from a feature is null, an attribute not in the schema is left out, a field listed twice
 * is written once. Geometry / blob / raster fields are not properties. Dates stay epoch
 * milliseconds (GeoJSON has no date type; the CSV writer formats them as ISO 8601).
 */
import { literalMaker } from '../../core/object-literal.js';
import type { EsriField, EsriGeometryType } from '../../core/protocol.js';
import { esriGeometryToGeoJSON } from './toGeoJSON.js';
import type { ConvertOptions, GeoJSONFeature, GeometryIssue } from './types.js';

export interface FeatureSchema {
  /** The object id field (becomes the feature `id`). */
  oidField: string;
  /** The layer's fields, in order. */
  fields: readonly EsriField[];
  geometryType?: EsriGeometryType | undefined;
  hasZ?: boolean | undefined;
  hasM?: boolean | undefined;
}

export interface FeatureConvertOptions {
  /** Keep M as a 4th coordinate (only for geometries with Z and M). */
  keepM?: boolean | undefined;
  /**
   * The GeoJSON may hold the input feature's own position arrays, not copies: for a caller that
   * neither uses nor changes the input feature afterwards (the export, which writes and drops it).
   */
  reuseInput?: boolean | undefined;
  /** Repairs made to a geometry, with the object id of its feature. */
  onIssue?: ((issue: GeometryIssue & { id: unknown }) => void) | undefined;
}

const NOT_PROPERTIES = new Set(['esriFieldTypeGeometry', 'esriFieldTypeBlob', 'esriFieldTypeRaster']);

/** The fields that become properties (or CSV columns): unique names, schema order. */
export function propertyFields(fields: readonly EsriField[]): EsriField[] {
  const seen = new Set<string>();
  const out: EsriField[] = [];
  for (const field of fields) {
    if (NOT_PROPERTIES.has(field.type) || seen.has(field.name)) continue;
    seen.add(field.name);
    out.push(field);
  }
  return out;
}

export type FeatureConverter = (feature: {
  attributes?: Record<string, unknown> | null;
  geometry?: unknown;
}) => GeoJSONFeature;

/** Compiles a converter for one schema (do this once per layer, then call it for every feature). */
export function createFeatureConverter(
  schema: FeatureSchema,
  options: FeatureConvertOptions = {},
): FeatureConverter {
  const names = propertyFields(schema.fields).map((f) => f.name);
  const { oidField } = schema;
  const onIssue = options.onIssue;
  const geometryOptions: ConvertOptions = {
    geometryType: schema.geometryType,
    hasZ: schema.hasZ,
    hasM: schema.hasM,
    keepM: options.keepM,
    reuseInput: options.reuseInput,
  };
  // one object literal per feature where it can be (core/object-literal.ts), else key by key
  const make = literalMaker(names, 'fields') ?? ((attributes) => keyByKey(names, attributes));
  return (feature) => {
    const attributes = feature.attributes ?? {};
    const properties = make(attributes);
    const id = attributes[oidField];
    const geometry = esriGeometryToGeoJSON(
      feature.geometry,
      onIssue === undefined
        ? geometryOptions
        : { ...geometryOptions, onIssue: (issue) => onIssue({ ...issue, id }) },
    );
    return typeof id === 'number' || typeof id === 'string'
      ? { type: 'Feature', id, geometry, properties }
      : { type: 'Feature', geometry, properties };
  };
}

/** The properties of `names` from `attributes`, added one by one (a missing one is null). */
function keyByKey(
  names: readonly string[],
  attributes: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const value = attributes[name] ?? null;
    if (name === '__proto__') {
      Object.defineProperty(properties, name, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else properties[name] = value;
  }
  return properties;
}

const cache = new WeakMap<FeatureSchema, FeatureConverter>();

/**
 * One feature. Converters are cached per schema object (and options-free): for a custom
 * `onIssue` or `keepM`, use `createFeatureConverter`.
 */
export function esriFeatureToGeoJSON(
  feature: { attributes?: Record<string, unknown> | null; geometry?: unknown },
  schema: FeatureSchema,
  options?: FeatureConvertOptions,
): GeoJSONFeature {
  if (options !== undefined) return createFeatureConverter(schema, options)(feature);
  let convert = cache.get(schema);
  if (convert === undefined) {
    convert = createFeatureConverter(schema);
    cache.set(schema, convert);
  }
  return convert(feature);
}
