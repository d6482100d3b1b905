/**
 * A raw feature of a server file → an Esri JSON feature keyed by the layer's field names, so that
 * the export converter turns it into the same GeoJSON `export` writes. Property names are matched
 * exactly, then case-insensitively, then (shapefiles) by their first 10 characters; dates become
 * epoch ms (shapefile dates are days, read as local midnight by the reader: taken as UTC days).
 */

import { EtlError } from '../../core/errors.js';
import type { EsriField } from '../../core/protocol.js';
import type { FeatureSchema } from '../geometry/feature.js';
import type { RawDataset, RawFeature } from './parse.js';

export type EsriLikeFeature = { attributes: Record<string, unknown>; geometry: unknown };

export function mapFeature(
  schema: FeatureSchema,
  source: RawDataset['source'],
): (raw: RawFeature) => EsriLikeFeature {
  const byKey = new Map<string, EsriField | undefined>();
  const lookup = (key: string): EsriField | undefined => {
    if (byKey.has(key)) return byKey.get(key);
    const lower = key.toLowerCase();
    const field =
      schema.fields.find((f) => f.name === key) ??
      schema.fields.find((f) => f.name.toLowerCase() === lower) ??
      (source === 'shapefile' && key.length === 10
        ? schema.fields.find((f) => f.name.slice(0, 10).toLowerCase() === lower)
        : undefined);
    byKey.set(key, field);
    return field;
  };
  const { oidField } = schema;
  return (raw) => {
    const attributes: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw.attributes)) {
      const field = lookup(key);
      if (field) attributes[field.name] = field.type === 'esriFieldTypeDate' ? dateValue(value) : value;
    }
    if (typeof attributes[oidField] !== 'number' && typeof raw.id === 'number') attributes[oidField] = raw.id;
    const oid = attributes[oidField];
    if (typeof oid !== 'number' || !Number.isSafeInteger(oid)) {
      throw new EtlError('DOWNLOAD_INVALID', `A feature of the server's file has no valid ${oidField}`);
    }
    return { attributes, geometry: raw.geometry };
  };
}

function dateValue(value: unknown): unknown {
  if (value instanceof Date) {
    const t = value.getTime();
    return Number.isNaN(t) ? null : Date.UTC(value.getFullYear(), value.getMonth(), value.getDate());
  }
  if (typeof value === 'string') {
    const t = Date.parse(value);
    return Number.isNaN(t) ? null : t;
  }
  return value;
}
