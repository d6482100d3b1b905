/**
 * CSV (RFC 4180, CRLF line ends): a header of the schema's fields, then `geometry` as WKT when the
 * layer has a geometry type. Dates (`esriFieldTypeDate`, epoch ms) are written as ISO 8601 UTC.
 * Every row has the same columns, in schema order, whatever each page holds.
 */
import type { EsriField } from '../../core/protocol.js';
import { propertyFields } from '../geometry/feature.js';
import { geometryToWkt } from '../geometry/wkt.js';
import { csvDate, csvText, csvValue } from './csv-cell.js';
import type { FeatureEncoder } from './encoder.js';

const EOL = '\r\n';

export function createCsvEncoder(schema: {
  fields: readonly EsriField[];
  geometryType?: string | undefined;
}): FeatureEncoder {
  const fields = propertyFields(schema.fields);
  const names = fields.map((f) => f.name);
  const isDate = fields.map((f) => f.type === 'esriFieldTypeDate');
  const withGeometry = schema.geometryType !== undefined;
  let geometryColumn = 'geometry';
  while (names.includes(geometryColumn)) geometryColumn = `${geometryColumn}_wkt`;
  const header = [...names, ...(withGeometry ? [geometryColumn] : [])].map(csvText).join(',') + EOL;
  return {
    header: () => header,
    page(features) {
      let out = '';
      for (let f = 0; f < features.length; f++) {
        const feature = features[f]!;
        const properties = feature.properties;
        let row = '';
        for (let i = 0; i < names.length; i++) {
          const value = properties[names[i]!];
          if (i > 0) row += ',';
          row += isDate[i] ? csvDate(value) : csvValue(value);
        }
        if (withGeometry) {
          const wkt = geometryToWkt(feature.geometry);
          row += names.length > 0 ? `,${csvText(wkt)}` : csvText(wkt);
        }
        out += row + EOL;
      }
      return out;
    },
    footer: () => '',
    lastChar: () => '\n',
  };
}
