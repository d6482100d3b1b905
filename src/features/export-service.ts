/**
 * exportService: every layer and table of a FeatureServer/MapServer (or those picked), each into
 * its own output, published on its own (a layer's file appears complete or not at all), while the
 * others go on when one fails.
 *
 * The layers share what one export of the host would have: one client (so one token), and the
 * host's concurrency controller: a pinned `concurrency` is one budget for the whole service, not
 * one per layer. The output of a layer comes from `target` (default `<dir>/<id>-<name>.<ext>`).
 *
 * `sync` (`--state FILE`): each layer synced as `export <layer> --state` syncs one (a full export
 * when the file has no entry for it, else its changes, the deletes beside its output in
 * `<output>.deletes.csv`, or inline), with ONE state file for the service holding each layer's entry
 * (its serverGen or high-water mark). The file is replaced, atomically, only when every layer of the
 * run succeeded: when one fails, no entry moves on, so the next run gives every layer's changes
 * since the last complete run again (the layers that did succeed included: their changes are
 * given twice rather than lost by a caller that stops at the failure).
 *
 * `geopackage`: every layer into ONE GeoPackage instead, a table per layer, published whole: the
 * layers go one after the other into a private staging file beside it (each added as a GeoPackage
 * writer adds a layer, so each table is complete or absent), which is renamed onto the target only
 * when every layer is in. A failed layer stops the rest and nothing is published.
 */
import { mkdir, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EtlError } from '../core/errors.js';
import { syncDirectory } from '../outputs/sync-directory.js';
import { partialPathFor } from '../outputs/temp-path.js';
import { type ExportOptions, type ExportStats, exportLayer } from './export.js';
import { claimOutput } from './output-claim.js';
import {
  fetchServiceInfo,
  layerFileStem,
  type ServiceInfo,
  type ServiceLayer,
  selectLayers,
} from './service.js';
import {
  readServiceSyncState,
  type ServiceSyncState,
  SYNC_STATE_VERSION,
  type SyncState,
  writeSyncState,
} from './sync/state.js';
import { type SyncStats, syncLayer } from './sync/sync.js';
import { FORMAT_EXTENSIONS } from './writers/formats.js';
import type { WriterFormat } from './writers/types.js';

/** Layers exported at once (their pages share the host's concurrency either way). */
export const DEFAULT_LAYERS_AT_ONCE = 4;

export interface LayerTarget {
  output: string;
  format: WriterFormat;
  /** GeoPackage: the layer's table name, added to the file if it exists. */
  table?: string | undefined;
}

export interface ServiceExportOptions
  extends Omit<
    ExportOptions,
    'layerUrl' | 'output' | 'claim' | 'stream' | 'stdout' | 'onProgress' | 'format'
  > {
  /** …/FeatureServer or …/MapServer. */
  serviceUrl: string;
  /** The folder the layers are written into (created if missing). */
  outputDir: string;
  format: WriterFormat;
  /** Layer ids or names (default: every layer and table that holds features). */
  layers?: readonly string[] | undefined;
  /** Where a layer goes (default `<outputDir>/<id>-<name>.<extension of format>`). */
  target?: ((layer: ServiceLayer) => LayerTarget) | undefined;
  /**
   * One GeoPackage file for every layer (a table each, named after the layer), published whole
   * when every layer is in; `outputDir` and `target` are then unused. `overwrite` replaces it.
   */
  geopackage?: string | undefined;
  /** Layers exported at once (default 4). */
  layersAtOnce?: number | undefined;
  /** Called as each layer ends (done or failed). */
  onLayer?: ((result: LayerResult) => void) | undefined;
  /** Incremental sync of every layer, with one state file for the service (see the module comment). */
  sync?: ServiceSync | undefined;
}

export interface ServiceSync {
  statePath: string;
  /** GeoJSONSeq: each layer's deletes are `_op: "delete"` rows of its output (no deletes file). */
  inlineDeletes?: boolean | undefined;
}

export interface LayerResult {
  layer: ServiceLayer;
  output: string;
  /** The layer's figures when it was exported. */
  stats?: ExportStats | undefined;
  /** The layer's sync, when synced (`sync`). */
  synced?: SyncStats | undefined;
  /** Why it failed, when it did. */
  error?: unknown;
}

export interface ServiceExportResult {
  service: ServiceInfo;
  /** One per exported (or failed) layer, in service order. */
  layers: LayerResult[];
  /** Layers not exported, and why. */
  skipped: { layer: ServiceLayer; reason: string }[];
  failed: LayerResult[];
  /** `sync`: whether the state file was replaced (every layer succeeded). */
  stateWritten?: boolean | undefined;
}

export async function exportService(options: ServiceExportOptions): Promise<ServiceExportResult> {
  const { client, signal } = options;
  const service = await fetchServiceInfo(client, options.serviceUrl, { signal });
  const picked = selectLayers(service, options.layers);
  const skipped: ServiceExportResult['skipped'] = [];
  for (const layer of service.layers) {
    if (layer.skip !== undefined && !picked.includes(layer)) skipped.push({ layer, reason: layer.skip });
  }
  const layers = picked.filter((layer) => {
    // a table has no geometry: no spatial filter can keep any of its rows
    if (options.filter && layer.table) {
      skipped.push({ layer, reason: `a table (no geometry for the ${options.filter.describe})` });
      return false;
    }
    return true;
  });
  if (layers.length === 0) {
    throw new EtlError('USAGE', `${service.url} has no layer or table to export`, { url: service.url });
  }
  for (const s of skipped) {
    client.emit({ type: 'warning', message: `skipping layer ${s.layer.id} "${s.layer.name}": ${s.reason}` });
  }
  if (options.geopackage !== undefined) {
    if (options.sync) {
      throw new EtlError(
        'USAGE',
        '--state syncs each layer into its own file: give -o <folder>/, not one GeoPackage',
      );
    }
    return exportToGeoPackage(options, options.geopackage, service, layers, skipped);
  }
  const sync = options.sync ? await serviceSyncFor(options.sync, service) : undefined;
  const target =
    options.target ??
    ((layer: ServiceLayer): LayerTarget => ({
      output: join(options.outputDir, `${layerFileStem(layer)}.${FORMAT_EXTENSIONS[options.format][0]}`),
      format: options.format,
    }));
  const targets = layers.map((layer) => ({ layer, ...target(layer) }));
  const seen = new Set<string>();
  for (const t of targets) {
    if (seen.has(t.output)) throw new EtlError('USAGE', `Two layers would be written to ${t.output}`);
    seen.add(t.output);
  }
  if (options.target === undefined) await mkdir(options.outputDir, { recursive: true });

  const common = layerExportOptions(options, service);
  const results: LayerResult[] = new Array(targets.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < targets.length && !signal?.aborted) {
      const index = next++;
      const t = targets[index]!;
      const result = await exportOne(common, t, sync);
      results[index] = result;
      options.onLayer?.(result);
    }
  };
  const atOnce = Math.max(1, Math.floor(options.layersAtOnce ?? DEFAULT_LAYERS_AT_ONCE));
  await Promise.all(Array.from({ length: Math.min(atOnce, targets.length) }, worker));
  const all = settle(results, targets, signal);
  const failed = all.filter((r) => r.error !== undefined);
  let stateWritten: boolean | undefined;
  if (sync) {
    stateWritten = failed.length === 0 && !signal?.aborted;
    if (stateWritten) {
      const layers = { ...sync.previous?.layers };
      for (const r of all) if (r.synced) layers[String(r.layer.id)] = r.synced.state;
      await writeSyncState(sync.statePath, { version: SYNC_STATE_VERSION, serviceUrl: service.url, layers });
    }
  }
  return { service, layers: all, skipped, failed, ...(sync ? { stateWritten } : {}) };
}

interface LoadedSync extends ServiceSync {
  previous: ServiceSyncState | undefined;
}

/** The service's state, read (and checked to be this service's) before any layer starts. */
async function serviceSyncFor(sync: ServiceSync, service: ServiceInfo): Promise<LoadedSync> {
  const previous = await readServiceSyncState(sync.statePath);
  if (previous && previous.serviceUrl !== service.url) {
    throw new EtlError(
      'SYNC_STATE_INVALID',
      `The state file ${sync.statePath} is for another service (${previous.serviceUrl})`,
    );
  }
  return { ...sync, previous };
}

type LayerCommon = Omit<ExportOptions, 'layerUrl' | 'output' | 'format'>;

/** What every layer's exportLayer is given (one budget per host: see the module comment). */
function layerExportOptions(options: ServiceExportOptions, service: ServiceInfo): LayerCommon {
  const { client } = options;
  // one budget per host: a pinned concurrency pins the host's controller, which every layer then takes
  const hosts = client.transport.concurrency;
  if (hosts && options.concurrency !== undefined) {
    hosts.for(service.url, { pinned: options.concurrency, max: options.maxConcurrency });
  }
  const {
    serviceUrl: _s,
    outputDir: _d,
    layers: _l,
    target: _t,
    layersAtOnce: _a,
    onLayer: _o,
    geopackage: _g,
    sync: _y,
    ...common
  } = options;
  return hosts ? { ...common, concurrency: undefined } : common;
}

async function exportOne(
  common: LayerCommon,
  t: LayerTarget & { layer: ServiceLayer },
  sync?: LoadedSync,
): Promise<LayerResult> {
  try {
    if (sync) {
      const state: SyncState | null = sync.previous?.layers[String(t.layer.id)] ?? null;
      const synced = await syncLayer({
        ...common,
        layerUrl: t.layer.url,
        output: t.output,
        format: t.format,
        statePath: sync.statePath,
        state,
        inlineDeletes: sync.inlineDeletes,
      });
      return { layer: t.layer, output: t.output, stats: synced.export, synced };
    }
    const stats = await exportLayer({
      ...common,
      layerUrl: t.layer.url,
      output: t.output,
      format: t.format,
      ...(t.table === undefined ? {} : { layerName: t.table, appendLayer: true, overwrite: false }),
    });
    return { layer: t.layer, output: t.output, stats };
  } catch (error) {
    return { layer: t.layer, output: t.output, error };
  }
}

/** The results in service order; layers an interruption kept from starting fail as ABORTED. */
function settle(
  results: (LayerResult | undefined)[],
  targets: readonly { layer: ServiceLayer; output: string }[],
  signal: AbortSignal | undefined,
  why: () => unknown = () => new EtlError('ABORTED', 'Interrupted before it started'),
): LayerResult[] {
  if (signal?.aborted || results.some((r) => r?.error !== undefined)) {
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!;
      results[i] ??= { layer: t.layer, output: t.output, error: why() };
    }
  }
  return results.filter((r): r is LayerResult => r !== undefined);
}

/** GeoPackage table names of the layers: their names, made unique (case-insensitively) and allowed. */
export function geopackageTables(layers: readonly Pick<ServiceLayer, 'id' | 'name'>[]): string[] {
  const taken = new Set<string>();
  return layers.map((layer) => {
    const name = layer.name.trim();
    let table = name === '' || /^(gpkg|sqlite|rtree)_/i.test(name) ? `layer_${layer.id}` : name;
    if (taken.has(table.toLowerCase())) table = `${table}_${layer.id}`;
    for (let n = 2; taken.has(table.toLowerCase()); n++) table = `${name}_${layer.id}_${n}`;
    taken.add(table.toLowerCase());
    return table;
  });
}

async function exportToGeoPackage(
  options: ServiceExportOptions,
  path: string,
  service: ServiceInfo,
  layers: readonly ServiceLayer[],
  skipped: ServiceExportResult['skipped'],
): Promise<ServiceExportResult> {
  const { signal } = options;
  const claim = await claimOutput(path, { overwrite: options.overwrite === true, runtime: options.runtime });
  const staging = partialPathFor(path);
  const tables = geopackageTables(layers);
  const targets = layers.map((layer, i) => ({
    layer,
    output: staging,
    format: 'gpkg' as const,
    table: tables[i]!,
  }));
  const common = layerExportOptions(options, service);
  const results: (LayerResult | undefined)[] = new Array(targets.length);
  let failedLayer: ServiceLayer | undefined;
  try {
    for (const [i, t] of targets.entries()) {
      if (signal?.aborted) break;
      const result = { ...(await exportOne(common, t)), output: path };
      results[i] = result;
      options.onLayer?.(result);
      if (result.error !== undefined) {
        failedLayer = t.layer;
        break;
      }
    }
    const all = settle(results, targets, signal, () =>
      failedLayer === undefined
        ? new EtlError('ABORTED', 'Interrupted before it started')
        : new EtlError(
            'EXTRACTION_INCOMPLETE',
            `Not exported: layer ${failedLayer.id} "${failedLayer.name}" failed, so ${path} was not written`,
          ),
    ).map((r) => ({ ...r, output: path }));
    if (all.every((r) => r.error === undefined)) {
      try {
        await rename(staging, path);
      } catch (cause) {
        throw new EtlError('OUTPUT_ERROR', `Cannot publish ${path}`, { cause });
      }
      await syncDirectory(dirname(path));
    } else {
      // a layer that had finished holds no claim on the file: none of them is published
      for (const r of all) {
        if (r.error === undefined) {
          r.error = new EtlError(
            'EXTRACTION_INCOMPLETE',
            `Exported, but not published: ${path} is written only when every layer is in`,
          );
          delete r.stats;
        }
      }
    }
    // the layer that failed first, then the ones it kept out of the file
    const failed = all.filter((r) => r.error !== undefined);
    failed.sort((a, b) => Number(b.layer === failedLayer) - Number(a.layer === failedLayer));
    return { service, layers: all, skipped, failed };
  } finally {
    await unlink(staging).catch(() => {});
    await claim.release();
  }
}
