/**
 * `planPipeline`: the sources → one job per layer. A service URL is expanded into its layers and
 * tables (those `layers` picks, group/raster/annotation layers skipped, tables skipped under a
 * spatial filter); the output templates are filled ({service}, {layer}, {name}, {date}); relative
 * paths resolve against the pipeline file's folder; each job's options are checked as `export`
 * checks its flags, before anything is exported. Two jobs writing one output are refused.
 */
import { isAbsolute, resolve } from 'node:path';
import type { ArcGISClient } from '../client/arcgis-client.js';
import { EtlError, isEtlError } from '../core/errors.js';
import { normalizeLayerUrl } from '../features/metadata.js';
import { fetchServiceInfo, isServiceUrl, selectLayers } from '../features/service.js';
import { isPostgisOutput } from '../outputs/postgis/target.js';
import { pipelineError, positionOf } from './load.js';
import { jobExportPlan } from './run-job.js';
import type { Pipeline, PipelineJob, PipelineSource } from './types.js';

/** Options naming a file or folder: resolved against the pipeline's folder, templates filled. */
export const PATH_OPTIONS = ['state', 'merge', 'deletes', 'attachments', 'geometry'] as const;

export interface PlanDeps {
  /** The client for a source (its credential's): used to list a service's layers, or a layer's name. */
  clientFor(source: PipelineSource): Promise<ArcGISClient>;
  /** `{date}`: the day (UTC) of this instant, epoch ms (default: now). */
  now?: number | undefined;
  signal?: AbortSignal | undefined;
  /**
   * A source whose layers cannot be listed (its server down, its service gone: anything but a
   * USAGE error): given here and skipped, so that the other sources still run. Default: thrown.
   */
  onSourceFailure?: ((source: PipelineSource, error: unknown) => void) | undefined;
}

interface LayerRef {
  id: number;
  name: string | undefined;
  url: string;
}

/** The service name of a URL: the path between `services/` and `FeatureServer`/`MapServer` (`/` → `_`). */
export function serviceNameOf(url: string): string {
  const path = new URL(url).pathname;
  const match = /\/services\/(.+?)\/(?:FeatureServer|MapServer)(?:\/|$)/i.exec(path);
  return (match?.[1] ?? 'service').replace(/\//g, '_');
}

/** A layer name as a file-name part (what `export` of a service writes after the id). */
export function safeName(name: string): string {
  return (
    name
      .normalize('NFC')
      .replace(/[\u0000-\u001f\u007f<>:"/\\|?*\s]+/g, '_')
      .replace(/^[._]+|[._ ]+$/g, '')
      .slice(0, 80) || 'layer'
  );
}

export function fillTemplate(
  template: string,
  values: { service: string; layer: number; name: string | undefined; date: string },
): string {
  return template.replace(/\{(service|layer|name|date)\}/g, (_, key: string) => {
    if (key === 'service') return values.service;
    if (key === 'layer') return String(values.layer);
    if (key === 'date') return values.date;
    return safeName(values.name ?? String(values.layer));
  });
}

export async function planPipeline(pipeline: Pipeline, deps: PlanDeps): Promise<PipelineJob[]> {
  const date = new Date(deps.now ?? Date.now()).toISOString().slice(0, 10);
  const jobs: PipelineJob[] = [];
  const outputs = new Map<string, string>();
  for (const source of pipeline.sources) {
    const at = positionOf(pipeline.positions, `/sources/${source.index}`);
    const fail = (error: unknown): never => {
      if (isEtlError(error) && error.code === 'USAGE') {
        throw pipelineError(pipeline.file, at, `sources[${source.index}]: ${error.message}`);
      }
      throw error;
    };
    let layers: LayerRef[];
    try {
      layers = await sourceLayers(source, deps);
    } catch (error) {
      if (deps.onSourceFailure && !(isEtlError(error) && error.code === 'USAGE')) {
        deps.onSourceFailure(source, error);
        continue;
      }
      return fail(error);
    }
    const service = serviceNameOf(source.url);
    for (const layer of layers) {
      const values = { service, layer: layer.id, name: layer.name, date };
      const output = fillTemplate(source.output, values);
      const resolved = isPostgisOutput(output) ? output : resolve(pipeline.baseDir, output);
      const id = `${source.index}-${layer.id}`;
      const other = outputs.get(resolved);
      if (other !== undefined) {
        throw pipelineError(
          pipeline.file,
          positionOf(pipeline.positions, `/sources/${source.index}/output`),
          `jobs ${other} and ${id} would both write ${resolved} (use {layer} or {name} in output)`,
        );
      }
      outputs.set(resolved, id);
      const { layers: _picked, ...options } = source.options;
      for (const key of PATH_OPTIONS) {
        const value = options[key];
        if (typeof value === 'string' && value !== '-') {
          const filled = fillTemplate(value, values);
          options[key] = isAbsolute(filled) ? filled : resolve(pipeline.baseDir, filled);
        }
      }
      const job: PipelineJob = {
        pipeline: pipeline.id,
        id,
        url: layer.url,
        output: resolved,
        ...(source.credentials === undefined ? {} : { credentials: source.credentials }),
        options,
        service,
        layerId: layer.id,
        name: layer.name ?? `layer ${layer.id}`,
      };
      // every option checked as `export` checks its flags, before any layer is exported
      await jobExportPlan(job).catch(fail);
      jobs.push(job);
    }
  }
  return jobs;
}

async function sourceLayers(source: PipelineSource, deps: PlanDeps): Promise<LayerRef[]> {
  const url = normalizeLayerUrl(source.url);
  const spatial = source.options.bbox !== undefined || source.options.geometry !== undefined;
  if (isServiceUrl(url)) {
    const client = await deps.clientFor(source);
    const info = await fetchServiceInfo(client, url, { signal: deps.signal });
    const wanted = source.options.layers;
    const picked = selectLayers(
      info,
      wanted === undefined
        ? undefined
        : (Array.isArray(wanted) ? wanted : String(wanted).split(',')).map(String),
    );
    // a table has no geometry: no spatial filter can keep any of its rows
    const layers = picked.filter((l) => !(spatial && l.table));
    if (layers.length === 0) throw new EtlError('USAGE', `${info.url} has no layer or table to export`);
    return layers.map((l) => ({ id: l.id, name: l.name, url: l.url }));
  }
  if (source.options.layers !== undefined) {
    throw new EtlError('USAGE', '--layers needs a service URL (…/FeatureServer or …/MapServer)');
  }
  const match = /\/(\d+)(?:\/query)?\/?(?:\?.*)?$/i.exec(source.url);
  if (!match) {
    throw new EtlError('USAGE', `${source.url} is neither a layer (…/FeatureServer/<id>) nor a service URL`);
  }
  const id = Number(match[1]);
  let name: string | undefined;
  if (source.output.includes('{name}')) {
    const client = await deps.clientFor(source);
    const meta = await client.request<{ name?: unknown }>(
      url,
      {},
      deps.signal ? { signal: deps.signal } : {},
    );
    name = typeof meta.name === 'string' ? meta.name : undefined;
  }
  return [{ id, name, url: source.url }];
}
