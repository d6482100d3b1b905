/**
 * GeoJSON FeatureCollection, one feature per line:
 * `{"type":"FeatureCollection","features":[` `\n{…},` `\n{…}` `\n]}\n`.
 */
import type { GeoJSONFeature } from '../geometry/types.js';
import type { FeatureEncoder, PageConverter } from './encoder.js';

const HEADER = '{"type":"FeatureCollection","features":[';

export const geojsonEncoder: FeatureEncoder = {
  header: () => HEADER,
  page(features: readonly unknown[], before: number, convert?: PageConverter<unknown>) {
    let out = '';
    for (let i = 0; i < features.length; i++) {
      const feature = convert === undefined ? (features[i] as GeoJSONFeature) : convert(features[i]);
      out += (before + i === 0 ? '\n' : ',\n') + JSON.stringify(feature);
    }
    return out;
  },
  footer: (total) => (total === 0 ? ']}\n' : '\n]}\n'),
  lastChar: (features) => (features === 0 ? '[' : '}'),
};
