/** The options of a PostGIS output (no driver types here: the public types stay free of them). */

export const POSTGIS_MODES = ['create', 'replace', 'append', 'upsert'] as const;
export type PostgisMode = (typeof POSTGIS_MODES)[number];

/** The options of a PostGIS output (`CreateWriterOptions.postgis`). */
export interface PostgisOptions {
  /** `--table schema.name`, when the URL has no `?table=`. */
  table?: string | undefined;
  /** Default `create`: the table must not exist. */
  mode?: PostgisMode | undefined;
  /** Upsert key field (default: the layer's OID field). */
  key?: string | undefined;
  /**
   * Upsert: the keys of rows to delete, in the same transaction as the upsert (an incremental sync
   * applies its inserts, updates and deletes at once). Default none.
   */
  deleteKeys?: readonly number[] | undefined;
  /** SRID of the geometry column: the export's output wkid (default 4326). */
  srid?: number | undefined;
  /**
   * Commit each page to a staging table that survives the run (the export writes checkpoints, for
   * `--resume`). Default false: one transaction from the first row to the published table.
   */
  commitEachPage?: boolean | undefined;
  /** Default process.env (DATABASE_URL, PG* variables). */
  env?: NodeJS.ProcessEnv | undefined;
}
