/**
 * A format as pure text: header, one string per page, footer. Page text depends only on the
 * features and on how many features came before, so a resumed run writes the same bytes.
 */
import type { GeoJSONFeature } from '../geometry/types.js';

/** Turns one source feature of a page into the feature to write. */
export type PageConverter<T> = (feature: T) => GeoJSONFeature;

/** Where a page's text goes, piece by piece (see Utf8Builder). */
export interface TextOut {
  write(piece: string): void;
}

export interface FeatureEncoder {
  header(): string;
  /**
   * The text of one page; `before` is the number of features already written. With `convert`,
   * `features` are source features, each converted just before it is encoded: a page of converted
   * features is never held in memory at once (less garbage-collector work on large pages).
   */
  page(features: readonly GeoJSONFeature[], before: number): string;
  page<T>(features: readonly T[], before: number, convert: PageConverter<T>): string;
  /**
   * The same text as `page`, written to `out` in pieces (one or a few per feature) instead of
   * returned: the writer encodes the pieces to UTF-8 as they come (Utf8Builder), without
   * building the page string. Same bytes.
   */
  pageInto(out: TextOut, features: readonly GeoJSONFeature[], before: number): void;
  pageInto<T>(out: TextOut, features: readonly T[], before: number, convert: PageConverter<T>): void;
  footer(total: number): string;
  /** The last character of the output after `features` features (checks a resume checkpoint). */
  lastChar(features: number): string;
}

/** An encoder from its `pageInto`: `page` joins the same pieces into a string. */
export function withPageText(encoder: Omit<FeatureEncoder, 'page'>): FeatureEncoder {
  return {
    ...encoder,
    page(features: readonly unknown[], before: number, convert?: PageConverter<unknown>) {
      let text = '';
      const out: TextOut = {
        write: (piece) => {
          text += piece;
        },
      };
      if (convert === undefined) encoder.pageInto(out, features as readonly GeoJSONFeature[], before);
      else encoder.pageInto(out, features, before, convert);
      return text;
    },
  };
}
