/**
 * One pipeline job (one layer): its options, by their long names as in the YAML, become the flags
 * of `export` and go through the same translation (layerExportPlan) and the same run
 * (runLayerExport): a job does exactly what `arcgis-etl export <url> -o <output> --<option> …` does.
 */
import { readFile } from 'node:fs/promises';
import type { ArcGISClient } from '../client/arcgis-client.js';
import type { Runtime } from '../core/time.js';
import type { ExportProgress, ExportStats } from '../features/export.js';
import type { OutputClaim } from '../features/output-claim.js';
import {
  EXPORT_DEFAULTS,
  type ExportFlags,
  type ExportGivenOption,
  type LayerExportPlan,
  layerExportPlan,
} from './export-flags.js';
import { claimLayerOutput, type LayerExportResult, runLayerExport } from './layer-export.js';
import type { PipelineJob } from './types.js';

/** `out-sr` → `outSr`: commander's name of a long flag. */
function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** A list (fields, layers, bbox) as the comma-separated text the flag takes. */
function flagValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(String).join(',');
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}

/** The job's options as `export` flags (defaults where not given), and which were given. */
export function jobFlags(job: Pick<PipelineJob, 'options' | 'output'>): {
  flags: ExportFlags;
  given: ExportGivenOption;
} {
  const given: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(job.options)) {
    const name = camel(key);
    given[name] = key === 'since' ? String(value) : flagValue(value);
  }
  const flags = { ...EXPORT_DEFAULTS, ...given, output: job.output } as ExportFlags;
  return { flags, given: (name) => Object.hasOwn(given, name) };
}

/** The export of the job's layer, checked (USAGE as `export` would say it). No request. */
export function jobExportPlan(
  job: Pick<PipelineJob, 'options' | 'output' | 'url'>,
): Promise<LayerExportPlan> {
  const { flags, given } = jobFlags(job);
  return layerExportPlan(job.url, flags, given, {
    cwd: process.cwd(),
    readInput: (path) => readFile(path, 'utf8'),
  });
}

export interface JobContext {
  /** The client of the job's credential (its token, and the host budget of its transport). */
  client: ArcGISClient;
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: ExportProgress) => void) | undefined;
  /** Shapefile notices and the like. */
  onNotice?: ((message: string) => void) | undefined;
  /** A claim of the output made by the caller (default: claimed here, released at the end). */
  claim?: OutputClaim | undefined;
  runtime?: Partial<Runtime> | undefined;
}

/** Exports the job's layer into its output, published atomically. */
export async function runPipelineJob(job: PipelineJob, context: JobContext): Promise<ExportStats> {
  return (await runPipelineJobDetailed(job, context)).stats;
}

/** As runPipelineJob, with the sync and attachment figures. */
export async function runPipelineJobDetailed(
  job: PipelineJob,
  context: JobContext,
): Promise<LayerExportResult> {
  const plan = await jobExportPlan(job);
  if (context.onNotice) {
    plan.options.shapefile = { ...plan.options.shapefile, onNotice: context.onNotice };
  }
  const claim = context.claim ?? (await claimLayerOutput(plan, context.runtime));
  try {
    return await runLayerExport(plan, {
      client: context.client,
      claim,
      signal: context.signal,
      onProgress: context.onProgress,
      runtime: context.runtime,
    });
  } finally {
    if (!context.claim) await claim.release();
  }
}
