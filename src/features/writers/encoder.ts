/**
 * A format as pure text: header, one string per page, footer. Page text depends only on the
 * features and on how many features came before, so a resumed run writes the same bytes.
 */
import type { GeoJSONFeature } from '../geometry/types.js';

/** Turns one source feature of a page into the feature to write. */
export type PageConverter<T> = (feature: T) => GeoJSONFeature;

export interface FeatureEncoder {
  header(): string;
  /**
   * The text of one page; `before` is the number of features already written. With `convert`,
   * `features` are source features, each converted just before it is encoded: a page of converted
   * features is never held in memory at once (less garbage-collector work on large pages).
   */
  page(features: readonly GeoJSONFeature[], before: number): string;
  page<T>(features: readonly T[], before: number, convert: PageConverter<T>): string;
  footer(total: number): string;
  /** The last character of the output after `features` features (checks a resume checkpoint). */
  lastChar(features: number): string;
}
