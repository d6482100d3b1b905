/**
 * GeoJSON FeatureCollection, one feature per line:
 * `{"type":"FeatureCollection","features":[` `\n{…},` `\n{…}` `\n]}\n`.
 */
import type { GeoJSONFeature } from '../geometry/types.js';
import { type PageConverter, type TextOut, withPageText } from './encoder.js';
import { featureJson } from './exact-json.js';

const HEADER = '{"type":"FeatureCollection","features":[';

export const geojsonEncoder = withPageText({
  header: () => HEADER,
  pageInto(out: TextOut, features: readonly unknown[], before: number, convert?: PageConverter<unknown>) {
    for (let i = 0; i < features.length; i++) {
      const feature = convert === undefined ? (features[i] as GeoJSONFeature) : convert(features[i]);
      out.write((before + i === 0 ? '\n' : ',\n') + featureJson(feature));
    }
  },
  footer: (total) => (total === 0 ? ']}\n' : '\n]}\n'),
  lastChar: (features) => (features === 0 ? '[' : '}'),
});
