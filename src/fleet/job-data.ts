/**
 * What a fleet job carries in the queue. Never a secret: credentials travel as the pipeline's
 * references (env var names, secret commands), and each worker resolves them from its own
 * environment.
 */
import type { PipelineCredential, PipelineJob } from '../pipeline/types.js';
import type { HostBudgets } from './host-budget.js';

/** One layer of a planned pipeline (`planPipeline`): output resolved and absolute. */
export type FleetLayerJob = PipelineJob;

export interface FleetShard {
  index: number;
  count: number;
  /** The layer's where clause and the shard's OID range. */
  where: string;
  /** Where the shard's part is published (a file in the layer's part folder). */
  part: string;
}

export type FleetJobKind = 'layer' | 'shard' | 'merge';

export interface FleetJobData {
  /** The run this job belongs to (one `run --queue`). */
  run: string;
  kind: FleetJobKind;
  job: FleetLayerJob;
  /** The pipeline's per-host budgets (fleet-wide). */
  hosts: HostBudgets;
  /** The pipeline file (for messages). */
  file: string;
  /** The pipeline's credential definitions (references only: env var names, commands), by name. */
  credentials: Record<string, PipelineCredential>;
  shard?: FleetShard | undefined;
  /** merge: the parts, in OID order. */
  parts?: string[] | undefined;
}

/** What a job reports as progress (`status` shows it). */
export interface FleetProgress {
  worker: string;
  features: number;
  total: number;
}

/** What a finished job returns. */
export interface FleetResult {
  features: number;
  output: string;
  worker: string;
  /** False when another attempt had already published the output (nothing was published twice). */
  published: boolean;
}

export const DEFAULT_QUEUE_NAME = 'arcgis-etl';
export const FLEET_PREFIX = 'arcgis-etl:fleet';

/** A BullMQ job id: no ':' (BullMQ refuses it in custom ids). */
export function jobId(run: string, layerId: string, suffix = ''): string {
  return `${run}.${layerId}${suffix}`.replace(/[^A-Za-z0-9._-]/g, '_');
}
