/** What a Shapefile export can be told (`CreateWriterOptions.shapefile`). */
export interface ShapefileOptions {
  /**
   * Date fields: `date` (default) writes a DBF date (YYYYMMDD) and keeps the time of day, in UTC,
   * in a text field beside it (`<name>_t`, HH:MM:SS.sss); `text` writes one ISO 8601 text field.
   */
  dates?: 'date' | 'text' | undefined;
  /**
   * Features of another geometry type than the file's (a point among polygons): `error` (default)
   * stops with a clear error; `split` writes one file set per type (`<name>_<type>.shp`).
   */
  mixedGeometry?: 'error' | 'split' | undefined;
  /**
   * A .shp or .dbf that would pass 2 GB: `error` (default) stops with a clear error; `split`
   * continues in parts (`<name>_2.shp`, `<name>_3.shp`, …).
   */
  overflow?: 'error' | 'split' | undefined;
  /** The .prj text (ESRI WKT) for an output SR that has no built-in .prj. */
  prj?: string | undefined;
  /** Told once, before the first page: how field names were cut to 10 characters. */
  onNotice?: ((message: string) => void) | undefined;
  /** Largest .shp / .dbf in bytes (default 2^31 - 1); smaller for tests. */
  maxFileBytes?: number | undefined;
}
