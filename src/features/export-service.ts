/**
 * exportService: every layer and table of a FeatureServer/MapServer (or those picked), each into
 * its own output, published on its own (a layer's file appears complete or not at all), while the
 * others go on when one fails.
 *
 * The layers share what one export of the host would have: one client (so one token), and the
 * host's concurrency controller: a pinned `concurrency` is one budget for the whole service, not
 * one per layer. The output of a layer comes from `target` (default `<dir>/<id>-<name>.<ext>`):
 * a multi-layer container (one GeoPackage with a table per layer) plugs in there.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { EtlError } from '../core/errors.js';
import { type ExportOptions, type ExportStats, exportLayer } from './export.js';
import {
  fetchServiceInfo,
  layerFileStem,
  type ServiceInfo,
  type ServiceLayer,
  selectLayers,
} from './service.js';
import { FORMAT_EXTENSIONS } from './writers/formats.js';
import type { WriterFormat } from './writers/types.js';

/** Layers exported at once (their pages share the host's concurrency either way). */
export const DEFAULT_LAYERS_AT_ONCE = 4;

export interface LayerTarget {
  output: string;
  format: WriterFormat;
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
  /** Layers exported at once (default 4). */
  layersAtOnce?: number | undefined;
  /** Called as each layer ends (done or failed). */
  onLayer?: ((result: LayerResult) => void) | undefined;
}

export interface LayerResult {
  layer: ServiceLayer;
  output: string;
  /** The layer's figures when it was exported. */
  stats?: ExportStats | undefined;
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
    ...common
  } = options;
  const layerOptions = hosts ? { ...common, concurrency: undefined } : common;

  const results: LayerResult[] = new Array(targets.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < targets.length && !signal?.aborted) {
      const index = next++;
      const t = targets[index]!;
      let result: LayerResult;
      try {
        const stats = await exportLayer({
          ...layerOptions,
          layerUrl: t.layer.url,
          output: t.output,
          format: t.format,
        });
        result = { layer: t.layer, output: t.output, stats };
      } catch (error) {
        result = { layer: t.layer, output: t.output, error };
      }
      results[index] = result;
      options.onLayer?.(result);
    }
  };
  const atOnce = Math.max(1, Math.floor(options.layersAtOnce ?? DEFAULT_LAYERS_AT_ONCE));
  await Promise.all(Array.from({ length: Math.min(atOnce, targets.length) }, worker));
  if (signal?.aborted) {
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!;
      results[i] ??= {
        layer: t.layer,
        output: t.output,
        error: new EtlError('ABORTED', 'Interrupted before it started'),
      };
    }
  }
  const all = results.filter((r): r is LayerResult => r !== undefined);
  return { service, layers: all, skipped, failed: all.filter((r) => r.error !== undefined) };
}
