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
import { open as openShapefile } from 'shapefile';
import { EtlError } from '../../core/errors.js';
import { geojsonToEsri } from './geometry.js';
import { scanReplica } from './replica-json.js';
import { replicaFeatures, replicaLayerIds } from './replica-stream.js';
import { isZip, readZip } from './zip.js';

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
  /** Read once, in order (replica JSON: parsed one feature at a time as the file streams by). */
  features: Iterable<RawFeature> | AsyncIterable<RawFeature>;
}

/** The JSON parser of a layer's features (undefined id: a document not split by layer). */
export type ParserFor = (layerId: number | undefined) => (text: string) => unknown;

const plainJson: ParserFor = () => JSON.parse;

/** The body of a download: bytes, JSON a server answered as JSON, or a file it was streamed into. */
export type Download =
  | { kind: 'binary'; value: Uint8Array }
  | { kind: 'json'; value: unknown }
  | { kind: 'file'; path: string; bytes: number };

export async function parseDownload(
  download: Download,
  parserFor: ParserFor = plainJson,
): Promise<RawDataset[]> {
  if (download.kind === 'json') return parseJsonDocument(download.value, undefined);
  if (download.kind === 'file') return parseFile(download.path, parserFor);
  const bytes = download.value;
  if (isZip(bytes)) return parseZip(await readZip(bytes), parserFor);
  const replica = scanReplica(bytes, parserFor);
  if (replica) {
    return replica.map((layer) => ({
      layerId: layer.id,
      source: 'json' as const,
      features: mapIterable(layer.features, (f) => ({
        attributes: f.attributes ?? {},
        geometry: f.geometry ?? null,
      })),
    }));
  }
  let value: unknown;
  try {
    value = parserFor(undefined)(
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
    );
  } catch (cause) {
    throw new EtlError('DOWNLOAD_INVALID', 'The downloaded file is neither a zip nor JSON', { cause });
  }
  return parseJsonDocument(value, undefined);
}

/**
 * A downloaded file: a zip (its entries read into memory), replica JSON (streamed: one feature at a
 * time), else a JSON document read whole.
 */
async function parseFile(path: string, parserFor: ParserFor): Promise<RawDataset[]> {
  const head = Buffer.alloc(4);
  const handle = await open(path, 'r');
  try {
    await handle.read(head, 0, 4, 0);
  } finally {
    await handle.close();
  }
  if (isZip(head)) return parseZip(await readZip(await readFile(path)), parserFor);
  const ids = await replicaLayerIds(path);
  if (ids) {
    return ids.map((id, index) => ({
      layerId: id,
      source: 'json' as const,
      features: mapAsync(replicaFeatures(path, index, parserFor(id)), (f) => ({
        attributes: f.attributes ?? {},
        geometry: f.geometry ?? null,
      })),
    }));
  }
  return parseDownload({ kind: 'binary', value: await readFile(path) }, parserFor);
}

async function* mapAsync<T, U>(source: AsyncIterable<T>, map: (item: T) => U): AsyncGenerator<U> {
  for await (const item of source) yield map(item);
}

/** Replica JSON (`layers[].features`) or a GeoJSON FeatureCollection. */
function parseJsonDocument(value: unknown, name: string | undefined): RawDataset[] {
  const doc = value as { layers?: unknown; type?: unknown; features?: unknown };
  if (doc && Array.isArray(doc.layers)) {
    return doc.layers.map((layer) => {
      const l = layer as { id?: unknown; features?: unknown };
      if (typeof l.id !== 'number' || !Array.isArray(l.features)) {
        throw new EtlError('DOWNLOAD_INVALID', 'The replica JSON has a layer without id or features');
      }
      return {
        layerId: l.id,
        source: 'json' as const,
        features: l.features.map((f) => {
          const feature = f as { attributes?: Record<string, unknown>; geometry?: unknown };
          return { attributes: feature.attributes ?? {}, geometry: feature.geometry ?? null };
        }),
      };
    });
  }
  if (doc && doc.type === 'FeatureCollection' && Array.isArray(doc.features)) {
    return [
      {
        name,
        source: 'geojson',
        features: doc.features.map((f) => {
          const feature = f as {
            id?: unknown;
            properties?: Record<string, unknown> | null;
            geometry?: unknown;
          };
          return {
            id: feature.id,
            attributes: feature.properties ?? {},
            geometry: geojsonToEsri(feature.geometry),
          };
        }),
      },
    ];
  }
  throw new EtlError(
    'DOWNLOAD_INVALID',
    'The downloaded JSON is neither replica JSON nor a GeoJSON FeatureCollection',
  );
}

async function parseZip(files: Map<string, Buffer>, parserFor: ParserFor): Promise<RawDataset[]> {
  const out: RawDataset[] = [];
  const byLower = new Map([...files.keys()].map((k) => [k.toLowerCase(), k]));
  const get = (base: string, ext: string) => {
    const key = byLower.get(`${base}.${ext}`.toLowerCase());
    return key === undefined ? undefined : files.get(key);
  };
  for (const [name, data] of files) {
    const lower = name.toLowerCase();
    if (lower.endsWith('.geojson') || lower.endsWith('.json')) {
      let value: unknown;
      try {
        value = parserFor(undefined)(data.toString('utf8'));
      } catch (cause) {
        throw new EtlError('DOWNLOAD_INVALID', `${name} in the downloaded archive is not valid JSON`, {
          cause,
        });
      }
      out.push(...parseJsonDocument(value, baseName(name)));
    } else if (lower.endsWith('.shp')) {
      const base = name.slice(0, -4);
      out.push(
        await readShapefile(baseName(name), data, get(base, 'dbf'), get(base, 'prj'), get(base, 'cpg')),
      );
    }
  }
  if (out.length === 0) {
    throw new EtlError('DOWNLOAD_INVALID', 'The downloaded archive holds no shapefile and no GeoJSON');
  }
  return out;
}

async function readShapefile(
  name: string,
  shp: Buffer,
  dbf: Buffer | undefined,
  prj: Buffer | undefined,
  cpg: Buffer | undefined,
): Promise<RawDataset> {
  if (!dbf)
    throw new EtlError('DOWNLOAD_INVALID', `The shapefile ${name} has no .dbf (no attributes, no OIDs)`);
  const unproject = projectionOf(name, prj?.toString('utf8'));
  const encoding = encodingOf(cpg?.toString('latin1'));
  const source = await openShapefile(new Uint8Array(shp), new Uint8Array(dbf), { encoding });
  const features: RawFeature[] = [];
  for (;;) {
    const next = await source.read();
    if (next.done) break;
    const geometry = geojsonToEsri(next.value.geometry);
    features.push({
      attributes: next.value.properties,
      geometry: unproject ? mercatorToWgs84(geometry) : geometry,
    });
  }
  return { name, source: 'shapefile', features };
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

function mapIterable<T, U>(source: Iterable<T>, map: (item: T) => U): Iterable<U> {
  return {
    *[Symbol.iterator]() {
      for (const item of source) yield map(item);
    },
  };
}
