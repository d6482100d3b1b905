/**
 * CSV (RFC 4180, CRLF line ends): a header of the schema's fields, then the geometry when the
 * layer has a geometry type: one `geometry` column of WKT (default), or `x`, `y` (and `z` when the
 * layer has Z) columns for point layers. Dates (`esriFieldTypeDate`, epoch ms) are written as
 * ISO 8601 UTC. With `aliases`, the header names the columns by the fields' aliases. Every row has the same columns, in schema order, whatever each page holds.
 */
import { EtlError } from '../../core/errors.js';
import type { EsriField } from '../../core/protocol.js';
import { propertyFields } from '../geometry/feature.js';
import type { GeoJSONFeature } from '../geometry/types.js';
import { geometryToWkt } from '../geometry/wkt.js';
import { csvDate, csvText, csvValue } from './csv-cell.js';
import { type FeatureEncoder, type PageConverter, type TextOut, withPageText } from './encoder.js';

const EOL = '\r\n';

export type CsvGeometry = 'wkt' | 'xy';

export interface CsvSchema {
  fields: readonly EsriField[];
  geometryType?: string | undefined;
  hasZ?: boolean | undefined;
}

/** A column name not taken by a field (`geometry`, else `geometry_wkt`, …). */
function freeName(name: string, taken: readonly string[]): string {
  let out = name;
  while (taken.includes(out)) out = `${out}_${name === 'geometry' ? 'wkt' : 'coord'}`;
  return out;
}

function geometryColumns(schema: CsvSchema, mode: CsvGeometry, names: readonly string[], excelSafe: boolean) {
  if (schema.geometryType === undefined) return { columns: [], cells: () => '' };
  if (mode === 'wkt') {
    return {
      columns: [freeName('geometry', names)],
      cells: (feature: GeoJSONFeature) => csvText(geometryToWkt(feature.geometry), excelSafe),
    };
  }
  if (schema.geometryType !== 'esriGeometryPoint') {
    throw new EtlError('USAGE', `x/y CSV columns need a point layer, not ${schema.geometryType}: use WKT`);
  }
  const withZ = schema.hasZ === true;
  const columns = (withZ ? ['x', 'y', 'z'] : ['x', 'y']).map((c) => freeName(c, names));
  const empty = withZ ? ',,' : ',';
  return {
    columns,
    cells: (feature: GeoJSONFeature) => {
      const g = feature.geometry;
      if (g?.type !== 'Point') return empty;
      const [x, y, z] = g.coordinates;
      return withZ ? `${csvValue(x)},${csvValue(y)},${csvValue(z)}` : `${csvValue(x)},${csvValue(y)}`;
    },
  };
}

/**
 * `excelSafe`: prefix cells a spreadsheet would run as a formula with `'` (changes the data;
 * off by default).
 */
export function createCsvEncoder(
  schema: CsvSchema,
  mode: CsvGeometry = 'wkt',
  excelSafe = false,
  aliases = false,
): FeatureEncoder {
  const fields = propertyFields(schema.fields);
  const names = fields.map((f) => f.name);
  const headers = aliases
    ? fields.map((f) => (f.alias === undefined || f.alias === '' ? f.name : f.alias))
    : names;
  const isDate = fields.map((f) => f.type === 'esriFieldTypeDate');
  const geometry = geometryColumns(schema, mode, names, excelSafe);
  const withGeometry = geometry.columns.length > 0;
  const header = `${[...headers, ...geometry.columns].map((name) => csvText(name, excelSafe)).join(',')}${EOL}`;
  return withPageText({
    header: () => header,
    pageInto(out: TextOut, features: readonly unknown[], _before: number, convert?: PageConverter<unknown>) {
      for (let f = 0; f < features.length; f++) {
        const feature = convert === undefined ? (features[f] as GeoJSONFeature) : convert(features[f]);
        const properties = feature.properties;
        let row = '';
        for (let i = 0; i < names.length; i++) {
          const value = properties[names[i]!];
          if (i > 0) row += ',';
          row += isDate[i] ? csvDate(value, excelSafe) : csvValue(value, excelSafe);
        }
        if (withGeometry) row += (names.length > 0 ? ',' : '') + geometry.cells(feature);
        out.write(row + EOL);
      }
    },
    footer: () => '',
    lastChar: () => '\n',
  });
}
