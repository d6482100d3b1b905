/**
 * A format as pure text: header, one string per page, footer. Page text depends only on the
 * features and on how many features came before, so a resumed run writes the same bytes.
 */
import type { GeoJSONFeature } from '../geometry/types.js';

export interface FeatureEncoder {
  header(): string;
  /** The text of one page; `before` is the number of features already written. */
  page(features: readonly GeoJSONFeature[], before: number): string;
  footer(total: number): string;
  /** The last character of the output after `features` features (checks a resume checkpoint). */
  lastChar(features: number): string;
}
