/**
 * Output writers: one page of converted features at a time, atomic on disk, resumable.
 */
import type { Writable } from 'node:stream';
import type { FlatGeobufOptions } from '../../outputs/fgb/options.js';
import type { PostgisOptions } from '../../outputs/postgis/options.js';
import type { ShapefileOptions } from '../../outputs/shapefile/options.js';
import type { FeatureSchema } from '../geometry/feature.js';
import type { GeoJSONFeature } from '../geometry/types.js';

export type WriterFormat =
  | 'geojson'
  | 'geojsonseq'
  | 'csv'
  | 'shapefile'
  | 'flatgeobuf'
  | 'gpkg'
  | 'parquet'
  | 'postgis';

/** What the writer needs of the layer schema (the `oidField` is not needed). */
export type WriterSchema = Pick<FeatureSchema, 'fields' | 'geometryType'> & Partial<FeatureSchema>;

/** Where a resumed run picks up: the writer's `bytesWritten` / `featuresWritten` after a page. */
export interface WriterCheckpoint {
  bytes: number;
  features: number;
}

export interface CreateWriterOptions {
  format: WriterFormat;
  /** Target file, or `-` for a stream (stdout by default). */
  path: string;
  schema: WriterSchema;
  /** Continue the temp file of an interrupted run from this checkpoint (files only). */
  resume?: WriterCheckpoint | undefined;
  /**
   * Temp file beside the target; default a fresh random name `<path>.<random>.partial` (see the
   * writer's `tempPath`). Created exclusively, never through a link. Required to resume: the
   * temp file of the interrupted run.
   */
  tempPath?: string | undefined;
  /** CSV geometry: one WKT `geometry` column (default), or `x`, `y` (`z`) columns for point layers. */
  csvGeometry?: 'wkt' | 'xy' | undefined;
  /**
   * CSV: prefix cells a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) with `'`.
   * Off by default: the data is written as it came.
   */
  csvExcelSafe?: boolean | undefined;
  /** CSV: the fields' aliases as column headers (a field without an alias keeps its name). */
  csvAliases?: boolean | undefined;
  /** GeoPackage (h-gpkg): the table to write, the SR, adding a layer to an existing file. */
  gpkg?: GpkgWriterOptions | undefined;
  /** GeoParquet (h-gpkg): the SR of the coordinates, the page compression. */
  parquet?: ParquetWriterOptions | undefined;
  /** For `path: '-'`: the stream to write to. Default `process.stdout`. */
  stream?: Writable | undefined;
  /** For `path: '-'`: end the stream on finish. Default false (stdout stays open). */
  endStream?: boolean | undefined;
  /** PostGIS (`path` is a `postgresql://` URL): table, mode, key, SRID, committed pages. */
  postgis?: PostgisOptions | undefined;
  /** The output spatial reference wkid (default 4326): Shapefile .prj, FlatGeobuf CRS. */
  outSR?: number | undefined;
  /** Shapefile options (see src/outputs/shapefile/options.ts). */
  shapefile?: ShapefileOptions | undefined;
  /** FlatGeobuf options (see src/outputs/fgb/options.ts). */
  flatgeobuf?: FlatGeobufOptions | undefined;
}

export interface FeatureWriter {
  readonly format: WriterFormat;
  /** The temp file being written (undefined for a stream): record it to resume later. */
  readonly tempPath: string | undefined;
  /** Writes one page of already-converted features, in order (calls are queued, never interleaved). */
  writePage(features: readonly GeoJSONFeature[]): Promise<void>;
  /**
   * Writes one page of source features, each converted by `convert` just before it is encoded
   * (the page is still one write). An error thrown by `convert` is rethrown as is, and nothing of
   * the page is written.
   */
  writePage<T>(features: readonly T[], convert: (feature: T) => GeoJSONFeature): Promise<void>;
  /** Bytes of the output so far, header included (for checkpoints). */
  readonly bytesWritten: number;
  readonly featuresWritten: number;
  /** Writes the footer, flushes, fsyncs, renames the temp file onto the target (atomic). */
  finish(): Promise<void>;
  /** Removes the temp file (kept with `keep: true`, for a later resume); the target is never touched. */
  abort(options?: { keep?: boolean }): Promise<void>;
}

/** GeoPackage options (`format: 'gpkg'`). */
export interface GpkgWriterOptions {
  /** The table (layer) name; default the output file's name without its extension. */
  layerName?: string | undefined;
  /** Spatial reference wkid of the coordinates (default 4326). */
  wkid?: number | undefined;
  /**
   * Add the layer to an existing GeoPackage (a copy of it is written, then renamed onto it): a
   * table of that name already there is a USAGE error. Default false: a new file.
   */
  appendLayer?: boolean | undefined;
  /** Features per transaction within a page (default: the whole page in one). */
  batchSize?: number | undefined;
}

/** GeoParquet options (`format: 'parquet'`). */
export interface ParquetWriterOptions {
  /** Spatial reference wkid of the coordinates (default 4326); 4326 and 3857 are known. */
  wkid?: number | undefined;
  /** Page compression (default snappy; zstd is Node's own where it has one, else WebAssembly). */
  compression?: 'snappy' | 'zstd' | 'none' | undefined;
}
