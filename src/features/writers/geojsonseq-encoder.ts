/** Newline-delimited GeoJSON (RFC 8142 without the RS separator): one feature per line. */
import type { GeoJSONFeature } from '../geometry/types.js';
import { type PageConverter, type TextOut, withPageText } from './encoder.js';
import { featureJson } from './exact-json.js';

export const geojsonSeqEncoder = withPageText({
  header: () => '',
  pageInto(out: TextOut, features: readonly unknown[], _before: number, convert?: PageConverter<unknown>) {
    for (let i = 0; i < features.length; i++) {
      const feature = convert === undefined ? (features[i] as GeoJSONFeature) : convert(features[i]);
      out.write(`${featureJson(feature)}\n`);
    }
  },
  footer: () => '',
  lastChar: (features) => (features === 0 ? '' : '\n'),
});
