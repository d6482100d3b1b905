/** Newline-delimited GeoJSON (RFC 8142 without the RS separator): one feature per line. */
import type { FeatureEncoder } from './encoder.js';

export const geojsonSeqEncoder: FeatureEncoder = {
  header: () => '',
  page(features) {
    let out = '';
    for (let i = 0; i < features.length; i++) out += `${JSON.stringify(features[i])}\n`;
    return out;
  },
  footer: () => '',
  lastChar: (features) => (features === 0 ? '' : '\n'),
};
