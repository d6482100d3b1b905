/**
 * The fields that are feature properties, for the table formats: unique names in schema order,
 * without geometry, blob or raster fields (the same rule as the GeoJSON converter's properties).
 */
import type { EsriField } from '../core/protocol.js';

const NOT_PROPERTIES = new Set(['esriFieldTypeGeometry', 'esriFieldTypeBlob', 'esriFieldTypeRaster']);

export function attributeFields(fields: readonly EsriField[]): EsriField[] {
  const seen = new Set<string>();
  const out: EsriField[] = [];
  for (const field of fields) {
    if (NOT_PROPERTIES.has(field.type) || seen.has(field.name)) continue;
    seen.add(field.name);
    out.push(field);
  }
  return out;
}

/** A name not taken by a field (compared without case, as SQL and most readers do). */
export function freeColumnName(name: string, taken: readonly string[]): string {
  const lower = new Set(taken.map((t) => t.toLowerCase()));
  let out = name;
  for (let i = 1; lower.has(out.toLowerCase()); i++) out = `${name}_${i}`;
  return out;
}
