/**
 * What an export job hands out → datasets of raw features (attributes as named in the file,
 * geometry as Esri JSON): replica JSON, GeoJSON (a file, or a zip of them), shapefile zips
 * (read with the `shapefile` package; `.cpg` sets the text encoding, `.prj` is checked: WGS 84 is
 * taken as is, Web Mercator is unprojected, anything else is refused rather than mislabelled).
 * JSON is parsed with the parser `parserFor` gives for the layer (big-integers.ts: BigInteger
 * values beyond 2^53 keep their digits); a document not split by layer (GeoJSON) gets the parser
 * for no layer id.
 */
import { open, readFile } from 'node:fs/promises';
import type * as Shapefile from 'shapefile';
import { EtlError } from '../../core/errors.js';
import { requireOnUse } from '../../core/lazy-require.js';
import { geojsonToEsri } from './geometry.js';
import { jsonFileKind, ROOT_FEATURES, replicaFeatures } from './replica-stream.js';
import { extractZip, isZip } from './zip.js';

export interface RawFeature {
  /** The feature id of a GeoJSON feature (the OID), if any. */
  id?: unknown;
  attributes: Record<string, unknown>;
  /** Esri JSON geometry, or null. */
  geometry: unknown;
}

export interface RawDataset {
  /** The file's base name (GeoJSON, shapefile), for matching it to a layer. */
  name?: string | undefined;
  /** The layer id (replica JSON). */
  layerId?: number | undefined;
  /** `shapefile`: field names cut to 10 characters, dates to the day. */
  source: 'json' | 'geojson' | 'shapefile';
  /** Read once, in order, as the file streams by. */
  features: AsyncIterable<RawFeature>;
}

/** The JSON parser of a layer's features (undefined id: a document not split by layer). */
export type ParserFor = (layerId: number | undefined) => (text: string) => unknown;

const plainJson: ParserFor = () => JSON.parse;

/** The body of a download: bytes, JSON a server answered as JSON, or a file it was streamed into. */
export type Download =
  | { kind: 'binary'; value: Uint8Array }
  | { kind: 'json'; value: unknown }
  | { kind: 'file'; path: string; bytes: number };

/**
 * A downloaded file, read as a stream (memory stays flat whatever its size): replica JSON or a
 * GeoJSON FeatureCollection, or a zip of GeoJSON files and shapefiles, unpacked into `workDir` (a
 * private folder the caller removes once the features are read). The features are read when the
 * datasets are iterated, once, in order.
 */
export async function parseDownload(
  path: string,
  workDir: string,
  parserFor: ParserFor = plainJson,
): Promise<RawDataset[]> {
  const head = Buffer.alloc(4);
  const handle = await open(path, 'r');
  try {
    await handle.read(head, 0, 4, 0);
  } finally {
    await handle.close();
  }
  if (isZip(head)) return parseZip(path, workDir, parserFor);
  const datasets = await parseJsonFile(path, undefined, parserFor);
  if (!datasets) {
    throw new EtlError(
      'DOWNLOAD_INVALID',
      'The downloaded file is neither a zip, nor replica JSON, nor a GeoJSON FeatureCollection',
    );
  }
  return datasets;
}

/** Replica JSON (`layers[].features`) or a GeoJSON FeatureCollection, streamed; else undefined. */
async function parseJsonFile(
  path: string,
  name: string | undefined,
  parserFor: ParserFor,
): Promise<RawDataset[] | undefined> {
  const kind = await jsonFileKind(path);
  if (kind.kind === 'replica') {
    return kind.ids.map((id, index) => ({
      layerId: id,
      source: 'json' as const,
      features: mapAsync(replicaFeatures<EsriFeature>(path, index, parserFor(id)), (f) => ({
        attributes: f.attributes ?? {},
        geometry: f.geometry ?? null,
      })),
    }));
  }
  if (kind.kind === 'geojson') {
    return [
      {
        name,
        source: 'geojson',
        features: mapAsync(
          replicaFeatures<GeoJsonFeature>(path, ROOT_FEATURES, parserFor(undefined)),
          (f) => ({
            id: f.id,
            attributes: f.properties ?? {},
            geometry: geojsonToEsri(f.geometry),
          }),
        ),
      },
    ];
  }
  return undefined;
}

interface EsriFeature {
  attributes?: Record<string, unknown>;
  geometry?: unknown;
}

interface GeoJsonFeature {
  id?: unknown;
  properties?: Record<string, unknown> | null;
  geometry?: unknown;
}

async function* mapAsync<T, U>(source: AsyncIterable<T>, map: (item: T) => U): AsyncGenerator<U> {
  for await (const item of source) yield map(item);
}

const ZIP_EXTENSIONS = ['.geojson', '.json', '.shp', '.dbf', '.prj', '.cpg'];

async function parseZip(path: string, workDir: string, parserFor: ParserFor): Promise<RawDataset[]> {
  const files = await extractZip(path, workDir, ZIP_EXTENSIONS);
  const out: RawDataset[] = [];
  const byLower = new Map(files.map((f) => [f.name.toLowerCase(), f.path]));
  const get = (base: string, ext: string) => byLower.get(`${base}.${ext}`.toLowerCase());
  for (const { name, path: file } of files) {
    const lower = name.toLowerCase();
    if (lower.endsWith('.geojson') || lower.endsWith('.json')) {
      const datasets = await parseJsonFile(file, baseName(name), parserFor);
      if (!datasets) {
        throw new EtlError(
          'DOWNLOAD_INVALID',
          `${name} in the downloaded archive is neither replica JSON nor a GeoJSON FeatureCollection`,
        );
      }
      out.push(...datasets);
    } else if (lower.endsWith('.shp')) {
      const base = name.slice(0, -4);
      out.push(
        await readShapefile(baseName(name), file, get(base, 'dbf'), get(base, 'prj'), get(base, 'cpg')),
      );
    }
  }
  if (out.length === 0) {
    throw new EtlError('DOWNLOAD_INVALID', 'The downloaded archive holds no shapefile and no GeoJSON');
  }
  return out;
}

/** A shapefile from its unpacked files, read feature by feature (the `shapefile` package streams). */
async function readShapefile(
  name: string,
  shp: string,
  dbf: string | undefined,
  prj: string | undefined,
  cpg: string | undefined,
): Promise<RawDataset> {
  if (!dbf)
    throw new EtlError('DOWNLOAD_INVALID', `The shapefile ${name} has no .dbf (no attributes, no OIDs)`);
  const unproject = projectionOf(name, prj === undefined ? undefined : await readFile(prj, 'utf8'));
  const encoding = encodingOf(cpg === undefined ? undefined : await readFile(cpg, 'latin1'));
  return { name, source: 'shapefile', features: shapefileFeatures(shp, dbf, encoding, unproject) };
}

async function* shapefileFeatures(
  shp: string,
  dbf: string,
  encoding: string,
  unproject: boolean,
): AsyncGenerator<RawFeature> {
  const { open: openShapefile } = requireOnUse('shapefile') as typeof Shapefile;
  const source = await openShapefile(shp, dbf, { encoding });
  try {
    for (;;) {
      const next = await source.read();
      if (next.done) return;
      const geometry = geojsonToEsri(next.value.geometry);
      yield { attributes: next.value.properties, geometry: unproject ? mercatorToWgs84(geometry) : geometry };
    }
  } finally {
    await source.cancel().catch(() => {});
  }
}

/** True when the coordinates are Web Mercator (to unproject); throws for other projections. */
function projectionOf(name: string, prj: string | undefined): boolean {
  if (prj === undefined || prj.trim() === '') return false;
  const text = prj.toUpperCase();
  if (text.startsWith('GEOGCS') && text.includes('WGS_1984')) return false;
  if (text.startsWith('PROJCS') && /WEB_MERCATOR|MERCATOR_AUXILIARY_SPHERE|PSEUDO-MERCATOR/.test(text))
    return true;
  throw new EtlError(
    'DOWNLOAD_INVALID',
    `The shapefile ${name} is in a projection we do not reproject (${prj.slice(0, 60)}…): use --server-format json or geojson`,
  );
}

/** A .cpg code page → a TextDecoder label (default windows-1252, the dBASE default). */
function encodingOf(cpg: string | undefined): string {
  const value = cpg?.trim().toLowerCase() ?? '';
  if (value === '') return 'windows-1252';
  if (value === 'utf-8' || value === 'utf8' || value === '65001') return 'utf-8';
  if (/^\d+$/.test(value)) return `windows-${value}`;
  return value;
}

const R = 6378137;

function mercatorToWgs84(geometry: unknown): unknown {
  const point = (p: number[]): number[] => [
    ((p[0] ?? 0) / R) * (180 / Math.PI),
    (2 * Math.atan(Math.exp((p[1] ?? 0) / R)) - Math.PI / 2) * (180 / Math.PI),
    ...p.slice(2),
  ];
  if (!geometry || typeof geometry !== 'object') return geometry;
  const g = geometry as Record<string, unknown>;
  if (typeof g.x === 'number' && typeof g.y === 'number') {
    const [x, y] = point([g.x, g.y]);
    return { ...g, x, y };
  }
  if (Array.isArray(g.points)) return { points: (g.points as number[][]).map(point) };
  if (Array.isArray(g.paths)) return { paths: (g.paths as number[][][]).map((p) => p.map(point)) };
  if (Array.isArray(g.rings)) return { rings: (g.rings as number[][][]).map((r) => r.map(point)) };
  return geometry;
}

function baseName(path: string): string {
  const file = path.slice(path.lastIndexOf('/') + 1);
  const dot = file.lastIndexOf('.');
  return dot > 0 ? file.slice(0, dot) : file;
}
