/**
 * The output formats we write, and which file extension means which: the one table to extend when
 * a writer is added. `-o x.gpkg` without a writer for it is a USAGE error, never GeoJSON by mistake.
 */
import { extname } from 'node:path';
import { EtlError } from '../../core/errors.js';
import { isPostgisOutput } from '../../outputs/postgis/target.js';
import type { WriterFormat } from './types.js';

/** Every format a writer exists for, and the file extensions (lower case, no dot) that mean it. */
export const FORMAT_EXTENSIONS: Readonly<Record<WriterFormat, readonly string[]>> = {
  geojson: ['geojson', 'json'],
  geojsonseq: ['geojsonl', 'geojsonseq', 'geojsons', 'ndjson', 'jsonl'],
  csv: ['csv'],
  // not a file: a postgresql:// URL (see formatForOutput)
  postgis: [],
  shapefile: ['shp', 'shp.zip'],
  flatgeobuf: ['fgb'],
  gpkg: ['gpkg'],
  parquet: ['parquet', 'geoparquet'],
};

/** Formats that cannot continue a partial output: `--resume` is refused for them. */
export const UNRESUMABLE_FORMATS: ReadonlySet<WriterFormat> = new Set(['shapefile', 'flatgeobuf']);

/** Formats written to files only (binary or multi-file): standard output is refused for them. */
export const FILE_ONLY_FORMATS: ReadonlySet<WriterFormat> = new Set([
  'shapefile',
  'flatgeobuf',
  'gpkg',
  'parquet',
]);

export const WRITER_FORMATS = Object.keys(FORMAT_EXTENSIONS) as readonly WriterFormat[];

/** The format used for standard output and for a file name without an extension. */
export const DEFAULT_FORMAT: WriterFormat = 'geojson';

export function isWriterFormat(value: string): value is WriterFormat {
  return Object.hasOwn(FORMAT_EXTENSIONS, value);
}

/** `geojson (.geojson, .json), geojsonseq (.geojsonl, …), csv (.csv), postgis (postgresql://…)`. */
export function describeFormats(): string {
  return WRITER_FORMATS.map((f) => {
    const extensions = FORMAT_EXTENSIONS[f];
    return `${f} (${extensions.length === 0 ? `${f === 'postgis' ? 'postgresql://…' : 'no file'}` : extensions.map((e) => `.${e}`).join(', ')})`;
  }).join(', ');
}

/**
 * The format of an output: `explicit` (e.g. --format) when given, else the file's extension;
 * standard output (`-`) and a name without an extension are GeoJSON. An extension no writer
 * exists for is a USAGE error that lists the formats.
 */
export function formatForOutput(path: string, explicit?: string | undefined): WriterFormat {
  // a postgresql:// URL is a PostGIS output, whatever else is said
  if (isPostgisOutput(path)) {
    if (explicit !== undefined && explicit !== 'postgis') {
      throw new EtlError('USAGE', `A postgresql:// output is written by the postgis format, not ${explicit}`);
    }
    return 'postgis';
  }
  if (explicit === 'postgis') {
    throw new EtlError(
      'USAGE',
      `The postgis format writes to a database: -o "postgresql://user@host:5432/db?table=schema.name" (not ${path})`,
    );
  }
  if (explicit !== undefined) {
    if (isWriterFormat(explicit)) return explicit;
    throw new EtlError('USAGE', `Unknown format "${explicit}": the formats are ${WRITER_FORMATS.join(', ')}`);
  }
  if (path === '-') return DEFAULT_FORMAT;
  const extension = extname(path).slice(1).toLowerCase();
  if (extension === '') return DEFAULT_FORMAT;
  // compound extensions first (`.shp.zip` before `.zip`)
  const lower = path.toLowerCase();
  for (const format of WRITER_FORMATS) {
    if (FORMAT_EXTENSIONS[format].some((e) => e.includes('.') && lower.endsWith(`.${e}`))) return format;
  }
  for (const format of WRITER_FORMATS) {
    if (FORMAT_EXTENSIONS[format].includes(extension)) return format;
  }
  throw new EtlError(
    'USAGE',
    `Cannot write .${extension} files (${path}): the formats are ${describeFormats()}; use one of these extensions, or --format`,
  );
}
