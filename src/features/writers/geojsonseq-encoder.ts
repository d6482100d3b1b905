/** Newline-delimited GeoJSON (RFC 8142 without the RS separator): one feature per line. */
import type { GeoJSONFeature } from '../geometry/types.js';
import type { FeatureEncoder, PageConverter } from './encoder.js';

export const geojsonSeqEncoder: FeatureEncoder = {
  header: () => '',
  page(features: readonly unknown[], _before: number, convert?: PageConverter<unknown>) {
    let out = '';
    for (let i = 0; i < features.length; i++) {
      const feature = convert === undefined ? (features[i] as GeoJSONFeature) : convert(features[i]);
      out += `${JSON.stringify(feature)}\n`;
    }
    return out;
  },
  footer: () => '',
  lastChar: (features) => (features === 0 ? '' : '\n'),
};
