/**
 * Runs one layer's export plan (see export-flags.ts): the output claimed before any request, then
 * exportLayer (or syncLayer), then the attachments. The `export` command and a pipeline job both
 * go through here.
 */
import { existsSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { ArcGISClient } from '../client/arcgis-client.js';
import type { Runtime } from '../core/time.js';
import { type AttachmentStats, downloadAttachments } from '../features/attachments/download.js';
import { type ExportProgress, type ExportStats, exportLayer } from '../features/export.js';
import { claimOutput, type OutputClaim } from '../features/output-claim.js';
import { type SyncStats, syncLayer } from '../features/sync/sync.js';
import { checkPostgisTarget } from '../outputs/postgis/preflight.js';
import type { LayerExportPlan } from './export-flags.js';

/**
 * Checks and claims the output (a file: locked beside it; a PostGIS table: checked in the
 * database now, and locked there by the export itself).
 */
export async function claimLayerOutput(
  plan: LayerExportPlan,
  runtime?: Partial<Runtime> | undefined,
): Promise<OutputClaim> {
  if (plan.postgis) {
    // an incremental sync (a state file there, or --since) upserts into the table it made before
    const sync = plan.sync;
    const incremental =
      sync !== undefined &&
      (sync.since !== undefined || (sync.statePath !== undefined && existsSync(sync.statePath)));
    const postgis = plan.options.postgis ?? {};
    await checkPostgisTarget(plan.output, incremental ? { ...postgis, mode: 'upsert' } : postgis);
    return { path: plan.output, release: async () => {} };
  }
  return claimOutput(plan.output, {
    overwrite: plan.replaces,
    resume: plan.options.resume === true,
    runtime,
  });
}

export interface LayerExportContext {
  client: ArcGISClient;
  claim: OutputClaim;
  signal?: AbortSignal | undefined;
  stdout?: Writable | undefined;
  onProgress?: ((progress: ExportProgress) => void) | undefined;
  runtime?: Partial<Runtime> | undefined;
}

export interface LayerExportResult {
  stats: ExportStats;
  synced?: SyncStats | undefined;
  attachments?: AttachmentStats | undefined;
}

export async function runLayerExport(
  plan: LayerExportPlan,
  context: LayerExportContext,
): Promise<LayerExportResult> {
  const options = {
    ...plan.options,
    client: context.client,
    claim: context.claim,
    ...(context.signal ? { signal: context.signal } : {}),
    ...(plan.output === '-' && context.stdout ? { stdout: context.stdout } : {}),
    ...(context.onProgress ? { onProgress: context.onProgress } : {}),
    ...(context.runtime ? { runtime: context.runtime } : {}),
  };
  let stats: ExportStats;
  let synced: SyncStats | undefined;
  if (plan.sync) {
    synced = await syncLayer({ ...options, ...plan.sync });
    stats = synced.export;
  } else {
    stats = await exportLayer(options);
  }
  const attachments =
    plan.attachmentsDir === undefined
      ? undefined
      : await downloadAttachments({
          client: context.client,
          layerUrl: plan.layerUrl,
          dir: plan.attachmentsDir,
          where: plan.options.where,
          ...(plan.options.concurrency === undefined ? {} : { concurrency: plan.options.concurrency }),
          ...(context.signal ? { signal: context.signal } : {}),
        });
  return { stats, ...(synced ? { synced } : {}), ...(attachments ? { attachments } : {}) };
}
