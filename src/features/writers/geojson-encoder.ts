/**
 * GeoJSON FeatureCollection, one feature per line:
 * `{"type":"FeatureCollection","features":[` `\n{…},` `\n{…}` `\n]}\n`.
 */
import type { FeatureEncoder } from './encoder.js';

const HEADER = '{"type":"FeatureCollection","features":[';

export const geojsonEncoder: FeatureEncoder = {
  header: () => HEADER,
  page(features, before) {
    let out = '';
    for (let i = 0; i < features.length; i++) {
      out += (before + i === 0 ? '\n' : ',\n') + JSON.stringify(features[i]);
    }
    return out;
  },
  footer: (total) => (total === 0 ? ']}\n' : '\n]}\n'),
  lastChar: (features) => (features === 0 ? '[' : '}'),
};
