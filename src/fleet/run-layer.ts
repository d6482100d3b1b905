/**
 * One layer (or one OID-range shard of it) exported to a given file: the pipeline's own job run
 * (`runPipelineJob`: exactly what `export` does with the job's options), pointed at a staging
 * file, and for a shard with the shard's where clause.
 */
import { basename, extname } from 'node:path';
import type { ArcGISClient } from '../client/arcgis-client.js';
import { formatForOutput } from '../features/writers/formats.js';
import { runPipelineJob } from '../pipeline/run-job.js';
import type { FleetLayerJob } from './job-data.js';

export interface LayerRunContext {
  client: ArcGISClient;
  signal?: AbortSignal | undefined;
  onProgress?: ((features: number, total: number) => void) | undefined;
}

/** The layer's output format: its `format` option, else the output's extension. */
export function formatOfJob(job: Pick<FleetLayerJob, 'options' | 'output'>): string {
  const explicit = job.options.format;
  return formatForOutput(job.output, typeof explicit === 'string' ? explicit : undefined);
}

export async function runLayerExport(
  job: FleetLayerJob,
  staging: string,
  where: string | undefined,
  ctx: LayerRunContext,
): Promise<{ features: number }> {
  const options: Record<string, unknown> = { ...job.options, format: formatOfJob(job) };
  if (where !== undefined) options.where = where;
  // a GeoPackage's table is named after the output file: the final one, not the staging file
  if (options.format === 'gpkg' && options['layer-name'] === undefined) {
    options['layer-name'] = basename(job.output, extname(job.output));
  }
  const stats = await runPipelineJob(
    { ...job, output: staging, options },
    {
      client: ctx.client,
      signal: ctx.signal,
      onProgress: (p) => ctx.onProgress?.(p.features, p.total),
    },
  );
  return { features: stats.features };
}
