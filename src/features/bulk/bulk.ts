/**
 * bulkExport: a server-side export job (createReplica, or the portal's item export) → download
 * with the token → parse (replica JSON, GeoJSON, shapefile zips) → our writers. Each layer's output
 * is checked against the layer's count (every feature exactly once) before anything is published;
 * on any error every writer is aborted and no output is left half-written.
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ArcGISClient } from '../../client/arcgis-client.js';
import { EtlError } from '../../core/errors.js';
import { type Runtime, resolveRuntime } from '../../core/time.js';
import type { FileBody } from '../../http/types.js';
import { featureJsonParser } from '../big-integers.js';
import { createFeatureConverter, type FeatureSchema } from '../geometry/feature.js';
import { fetchLayerInfo, type LayerInfo } from '../metadata.js';
import { claimOutput, type OutputClaim } from '../output-claim.js';
import { FORMAT_EXTENSIONS, formatForOutput } from '../writers/formats.js';
import type { FeatureWriter, WriterFormat } from '../writers/types.js';
import { createWriter } from '../writers/writer.js';
import { type EsriLikeFeature, mapFeature } from './attributes.js';
import { type JobLayer, type PollSettings, runItemJob, runReplicaJob } from './jobs.js';
import { keepFile } from './keep.js';
import { OidSet } from './oid-set.js';
import { type Download, type ParserFor, parseDownload, type RawDataset } from './parse.js';

type FileDownload = Extract<Download, { kind: 'file' }>;

export type BulkVia = 'replica' | 'item';
export type BulkServerFormat = 'json' | 'geojson' | 'shapefile' | 'sqlite';
export const BULK_SERVER_FORMATS: readonly BulkServerFormat[] = ['json', 'geojson', 'shapefile', 'sqlite'];

export interface BulkOptions {
  client: ArcGISClient;
  /** …/FeatureServer */
  serviceUrl: string;
  /** A folder (ends with `/`, or exists): one file per layer; or a file (one layer). */
  output: string;
  /** Output format (default: from the file extension, else geojson). */
  format?: WriterFormat | undefined;
  /** Layer ids or names (default: every layer of the service). */
  layers?: readonly string[] | undefined;
  where?: string | undefined;
  via?: BulkVia | undefined;
  /** The service's item (item exports; default the service's `serviceItemId`). */
  itemId?: string | undefined;
  /** The portal of item exports (required with `via: 'item'`). */
  portalUrl?: string | undefined;
  /** What the server produces (default: json for replicas, geojson for item exports). */
  serverFormat?: BulkServerFormat | undefined;
  /** Keep the server's file beside the output. */
  keepDownload?: boolean | undefined;
  /** Delete the temporary export item afterwards (default true). */
  deleteExportItem?: boolean | undefined;
  overwrite?: boolean | undefined;
  poll?: PollSettings | undefined;
  runtime?: Partial<Runtime> | undefined;
  signal?: AbortSignal | undefined;
  onPoll?: ((info: { polls: number; status: string | undefined; elapsedMs: number }) => void) | undefined;
}

export interface BulkLayerStats {
  id: number;
  name: string;
  features: number;
  output: string;
}

export interface BulkStats {
  via: BulkVia;
  serverFormat: BulkServerFormat;
  layers: BulkLayerStats[];
  features: number;
  polls: number;
  pollFailures: number;
  downloadBytes: number;
  requests: number;
  retries: number;
  tokensGenerated: number;
  tokenRefreshes: number;
  elapsedMs: number;
  /** The server's file, kept (`keepDownload`, or a format we cannot read). */
  kept: string | undefined;
  /** Said when the file was kept as is instead of being parsed. */
  note: string | undefined;
}

interface ServiceLayer {
  id: number;
  name: string;
}

interface Target {
  layer: ServiceLayer;
  info: LayerInfo;
  path: string;
  expected: number;
}

export async function bulkExport(options: BulkOptions): Promise<BulkStats> {
  const runtime = resolveRuntime(options.runtime);
  const started = runtime.clock.now();
  const { client, signal } = options;
  const serviceUrl = options.serviceUrl.replace(/\/+$/, '').replace(/\?.*$/, '');
  if (!/\/FeatureServer$/i.test(serviceUrl)) {
    throw new EtlError('USAGE', `bulk needs a FeatureServer URL (…/FeatureServer), got ${serviceUrl}`);
  }
  const via = options.via ?? 'replica';
  const serverFormat = options.serverFormat ?? (via === 'item' ? 'geojson' : 'json');
  checkFormats(via, serverFormat, options);
  const before = { ...client.stats };
  const authBefore = client.auth ? { ...client.auth.stats } : undefined;
  const withSignal = signal ? { signal } : {};

  const service = await client.request<Record<string, unknown>>(serviceUrl, {}, withSignal);
  const selected = selectLayers(service, options.layers, serviceUrl);
  if (via === 'replica' && !syncEnabled(service)) {
    throw new EtlError(
      'SYNC_NOT_ENABLED',
      `${serviceUrl} is not sync-enabled (its capabilities lack Sync), so createReplica cannot run: use --via item, or export`,
    );
  }
  const where = options.where?.trim() || '1=1';
  const directory = await isDirectoryOutput(options.output);
  if (!directory && selected.length > 1) {
    throw new EtlError(
      'USAGE',
      `${selected.length} layers need a folder output (end -o with /), or pick one with --layers`,
    );
  }
  const format = options.format ?? (directory ? 'geojson' : formatForOutput(options.output));
  const raw = serverFormat === 'sqlite';
  const claims: OutputClaim[] = [];
  const writers: FeatureWriter[] = [];
  let kept: string | undefined;
  let note: string | undefined;
  let workDir: string | undefined;
  try {
    // every output is checked and claimed before the job starts
    const targets: Target[] = [];
    for (const layer of selected) {
      const path = directory
        ? join(
            options.output,
            `${safeName(layer.name)}.${raw ? 'geodatabase' : FORMAT_EXTENSIONS[format][0]}`,
          )
        : options.output;
      if (!raw || targets.length === 0)
        claims.push(await claimOutput(path, { overwrite: options.overwrite, runtime: options.runtime }));
      const info = await fetchLayerInfo(client, `${serviceUrl}/${layer.id}`, withSignal);
      targets.push({ layer, info, path, expected: await info.count(where, withSignal) });
    }
    const jobLayers: JobLayer[] = selected.map((l) => ({ id: l.id, where }));
    // the server's file is streamed into a private folder beside the first output (a zip is
    // unpacked there too), removed at the end
    workDir = await mkdtemp(join(dirname(targets[0]!.path), '.bulk-'));
    const downloadPath = join(workDir, 'download');
    const common = {
      client,
      layers: jobLayers,
      poll: options.poll,
      runtime: options.runtime,
      signal,
      onPoll: options.onPoll,
    };
    let download: FileDownload;
    let downloadName: string;
    let polls = 0;
    let pollFailures = 0;
    if (via === 'replica') {
      const result = await runReplicaJob({
        ...common,
        serviceUrl,
        dataFormat: serverFormat,
        replicaName: `arcgis-etl-${runtime.clock.now()}`,
      });
      polls = result.polls;
      pollFailures = result.pollFailures;
      download = await fetchFile(client, result.value, signal, downloadPath);
      downloadName = basename(new URL(result.value).pathname);
    } else {
      const itemId =
        options.itemId ?? (typeof service.serviceItemId === 'string' ? service.serviceItemId : undefined);
      if (!itemId) throw new EtlError('USAGE', `${serviceUrl} names no serviceItemId: give --item-id`);
      if (!options.portalUrl) throw new EtlError('USAGE', 'Item exports need the portal URL (--portal)');
      const result = await runItemJob({
        ...common,
        portalUrl: options.portalUrl,
        itemId,
        exportFormat: serverFormat === 'shapefile' ? 'Shapefile' : 'GeoJson',
        title: `arcgis-etl export ${runtime.clock.now()}`,
      });
      polls = result.polls;
      pollFailures = result.pollFailures;
      try {
        download = await fetchFile(client, result.value.dataUrl, signal, downloadPath);
      } finally {
        if (options.deleteExportItem !== false) await result.value.remove().catch(() => {});
      }
      downloadName = `${result.value.exportItemId}.${serverFormat === 'shapefile' ? 'zip' : 'geojson'}`;
    }
    const downloadBytes = download.bytes;

    if (raw) {
      // no reader for SQLite / mobile geodatabases: the file is the output, as downloaded
      const target = targets[0]!;
      kept = await keepFile(target.path, download, options.overwrite === true);
      note = `the server's SQLite geodatabase is kept as downloaded in ${kept} (no reader: it was not parsed nor checked against the layer counts)`;
    } else {
      if (options.keepDownload)
        kept = await keepFile(
          join(dirname(targets[0]!.path), downloadName),
          download,
          options.overwrite === true,
        );
      const datasets = await parseDownload(download.path, workDir, layerParsers(targets));
      for (const target of targets) {
        const dataset = datasetFor(datasets, target, targets.length);
        writers.push(await writeLayer(target, dataset, format));
      }
      // all checked: publish
      for (const writer of writers) await writer.finish();
    }
    const after = client.stats;
    const auth = client.auth;
    return {
      via,
      serverFormat,
      layers: targets.map((t, i) => ({
        id: t.layer.id,
        name: t.layer.name,
        features: raw ? 0 : (writers[i]?.featuresWritten ?? 0),
        output: raw ? (kept ?? t.path) : t.path,
      })),
      features: writers.reduce((sum, w) => sum + w.featuresWritten, 0),
      polls,
      pollFailures,
      downloadBytes,
      requests: after.requests - before.requests,
      retries: after.retries - before.retries,
      tokensGenerated: auth && authBefore ? auth.stats.generated - authBefore.generated : 0,
      tokenRefreshes: auth && authBefore ? auth.stats.refreshed - authBefore.refreshed : 0,
      elapsedMs: runtime.clock.now() - started,
      kept,
      note,
    };
  } catch (error) {
    for (const writer of writers) await writer.abort().catch(() => {});
    throw error;
  } finally {
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
    for (const claim of claims) await claim.release();
  }
}

/**
 * The lossless parser of each layer's features (BigInteger fields beyond 2^53 exact); a document
 * not split by layer (GeoJSON) gets the BigInteger fields of every selected layer.
 */
function layerParsers(targets: readonly Target[]): ParserFor {
  return (id) => {
    const fields =
      id === undefined
        ? targets.flatMap((t) => t.info.fields)
        : (targets.find((t) => t.layer.id === id)?.info.fields ?? []);
    return featureJsonParser(fields) ?? JSON.parse;
  };
}

function checkFormats(via: BulkVia, serverFormat: BulkServerFormat, options: BulkOptions): void {
  if (!BULK_SERVER_FORMATS.includes(serverFormat)) {
    throw new EtlError(
      'USAGE',
      `--server-format must be one of ${BULK_SERVER_FORMATS.join(', ')} (got "${serverFormat}")`,
    );
  }
  if (via !== 'replica' && via !== 'item')
    throw new EtlError('USAGE', `--via must be replica or item (got "${String(via)}")`);
  if (via === 'item' && (serverFormat === 'json' || serverFormat === 'sqlite')) {
    throw new EtlError('USAGE', `Item exports produce geojson or shapefile, not ${serverFormat}`);
  }
  if (options.output === '-' || options.output === '')
    throw new EtlError('USAGE', 'bulk writes files: give -o <folder/> or -o <file>');
}

async function writeLayer(target: Target, dataset: RawDataset, format: WriterFormat): Promise<FeatureWriter> {
  const { info } = target;
  const schema: FeatureSchema = {
    oidField: info.oidField,
    fields: info.fields,
    geometryType: info.geometryType,
    hasZ: info.hasZ,
    hasM: info.hasM,
  };
  const convert = createFeatureConverter(schema);
  const seen = new OidSet();
  const map = mapFeature(schema, dataset.source);
  const writer = await createWriter({ format, path: target.path, schema });
  try {
    const page = 5000;
    let batch: EsriLikeFeature[] = [];
    for await (const raw of dataset.features) {
      const feature = map(raw);
      const oid = feature.attributes[info.oidField] as number;
      if (!seen.add(oid)) {
        throw new EtlError(
          'DUPLICATE_FEATURE',
          `The server's file holds OID ${oid} of layer ${target.layer.name} twice`,
        );
      }
      batch.push(feature);
      if (batch.length >= page) {
        await writer.writePage(batch, convert);
        batch = [];
      }
    }
    if (batch.length > 0) await writer.writePage(batch, convert);
    if (writer.featuresWritten !== target.expected) {
      throw new EtlError(
        'EXTRACTION_INCOMPLETE',
        `The server's file holds ${writer.featuresWritten} features of layer ${target.layer.name}, the layer counts ${target.expected}: nothing was written`,
      );
    }
    return writer;
  } catch (error) {
    await writer.abort().catch(() => {});
    throw error;
  }
}

function datasetFor(datasets: readonly RawDataset[], target: Target, layers: number): RawDataset {
  const byId = datasets.find((d) => d.layerId === target.layer.id);
  if (byId) return byId;
  const wanted = safeName(target.layer.name).toLowerCase();
  const byName = datasets.find((d) => d.name !== undefined && safeName(d.name).toLowerCase() === wanted);
  if (byName) return byName;
  const only = datasets[0];
  if (layers === 1 && datasets.length === 1 && only && only.layerId === undefined) return only;
  throw new EtlError(
    'DOWNLOAD_INVALID',
    `The server's file holds no data for layer ${target.layer.id} (${target.layer.name})`,
  );
}

/** Streams the server's file into `path` (beside the output) with the token: memory stays flat. */
async function fetchFile(
  client: ArcGISClient,
  url: string,
  signal: AbortSignal | undefined,
  path: string,
): Promise<FileDownload> {
  const response = await client.send<FileBody>(
    url,
    {},
    { method: 'GET', responseType: 'file', toFile: path, ...(signal ? { signal } : {}) },
  );
  return { kind: 'file', path, bytes: response.body.bytes };
}

function selectLayers(
  service: Record<string, unknown>,
  wanted: readonly string[] | undefined,
  url: string,
): ServiceLayer[] {
  const all: ServiceLayer[] = (Array.isArray(service.layers) ? service.layers : [])
    .map((l) => l as { id?: unknown; name?: unknown })
    .filter((l): l is { id: number; name?: unknown } => typeof l.id === 'number')
    .map((l) => ({ id: l.id, name: typeof l.name === 'string' ? l.name : `layer${l.id}` }));
  if (all.length === 0) throw new EtlError('LAYER_NOT_FOUND', `${url} lists no layers`);
  if (!wanted || wanted.length === 0) return all;
  const out: ServiceLayer[] = [];
  for (const token of wanted) {
    const t = token.trim();
    const layer = /^\d+$/.test(t)
      ? all.find((l) => l.id === Number(t))
      : all.find((l) => l.name.toLowerCase() === t.toLowerCase());
    if (!layer) {
      throw new EtlError(
        'LAYER_NOT_FOUND',
        `${url} has no layer ${t} (it has ${all.map((l) => `${l.id} ${l.name}`).join(', ')})`,
      );
    }
    if (!out.includes(layer)) out.push(layer);
  }
  return out;
}

function syncEnabled(service: Record<string, unknown>): boolean {
  if (service.syncEnabled === false) return false;
  const caps =
    typeof service.capabilities === 'string'
      ? service.capabilities.split(',').map((c) => c.trim().toLowerCase())
      : [];
  return service.syncEnabled === true || caps.includes('sync');
}

async function isDirectoryOutput(output: string): Promise<boolean> {
  if (output.endsWith('/') || output.endsWith('\\')) {
    await mkdir(output, { recursive: true });
    return true;
  }
  try {
    return (await stat(output)).isDirectory();
  } catch {
    return false;
  }
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, '_') || 'layer';
}
