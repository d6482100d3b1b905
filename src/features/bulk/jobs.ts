/**
 * The two server-side export jobs, each submitted, polled until done and answering the URL of its
 * file: `createReplica` (async, syncModel=none) on a sync-enabled FeatureServer, and the portal's
 * item export (`content/users/{user}/export`, then `items/{id}/status`, the data at
 * `content/items/{id}/data`, and the temporary item deleted afterwards).
 */
import type { ArcGISClient } from '../../client/arcgis-client.js';
import { EtlError, isEtlError } from '../../core/errors.js';
import type { Runtime } from '../../core/time.js';
import { type JobState, type JobStatus, jobStatusState, type PollResult, pollJob } from '../jobs/poll.js';

export interface JobLayer {
  id: number;
  where: string;
}

export interface PollSettings {
  initialDelayMs?: number | undefined;
  maxDelayMs?: number | undefined;
  timeoutMs?: number | undefined;
}

interface Common {
  client: ArcGISClient;
  layers: readonly JobLayer[];
  poll?: PollSettings | undefined;
  runtime?: Partial<Runtime> | undefined;
  signal?: AbortSignal | undefined;
  onPoll?: ((info: { polls: number; status: string | undefined; elapsedMs: number }) => void) | undefined;
}

export interface ReplicaJobOptions extends Common {
  serviceUrl: string;
  dataFormat: 'json' | 'geojson' | 'shapefile' | 'sqlite';
  replicaName: string;
}

/** Submits createReplica (async) and polls its statusUrl; answers the resultUrl. */
export async function runReplicaJob(options: ReplicaJobOptions): Promise<PollResult<string>> {
  const { client, serviceUrl, signal } = options;
  const layerQueries: Record<string, unknown> = {};
  for (const l of options.layers) {
    layerQueries[String(l.id)] = {
      where: l.where,
      useGeometry: false,
      queryOption: l.where === '1=1' ? 'all' : 'useFilter',
    };
  }
  const submitted = await client.request<{ statusUrl?: unknown; responseUrl?: unknown; URL?: unknown }>(
    `${serviceUrl}/createReplica`,
    {
      replicaName: options.replicaName,
      layers: options.layers.map((l) => l.id).join(','),
      layerQueries: JSON.stringify(layerQueries),
      returnAttachments: false,
      syncModel: 'none',
      dataFormat: options.dataFormat,
      replicaSR: 4326,
      transportType: 'esriTransportTypeUrl',
      async: true,
    },
    { idempotent: false, ...(signal ? { signal } : {}) },
  );
  // a server that answers synchronously gives the file at once
  const direct = stringOf(submitted.responseUrl) ?? stringOf(submitted.URL);
  if (direct) return { value: direct, polls: 0, pollFailures: 0, elapsedMs: 0 };
  const statusUrl = stringOf(submitted.statusUrl);
  if (!statusUrl)
    throw new EtlError('INVALID_RESPONSE', `createReplica of ${serviceUrl} answered no statusUrl`);
  return pollJob<string>({
    what: `createReplica job of ${serviceUrl}`,
    check: async () => {
      try {
        return replicaState(
          await client.request<JobStatus>(statusUrl, {}, { method: 'GET', ...(signal ? { signal } : {}) }),
        );
      } catch (error) {
        // a status answered with an error envelope: the job is gone or failed
        if (isEtlError(error, 'ARCGIS_ERROR') && !(error.status !== undefined && error.status >= 500)) {
          return { state: 'failed', message: error.message };
        }
        throw error;
      }
    },
    ...pollSettings(options),
  });
}

function replicaState(body: JobStatus): JobState<string> {
  const state = jobStatusState(body);
  if (state.state !== 'done') return state;
  const url = stringOf(body.resultUrl);
  if (!url) throw new EtlError('INVALID_RESPONSE', 'The replica job completed without a resultUrl');
  return { state: 'done', value: url };
}

export interface ItemJobOptions extends Common {
  portalUrl: string;
  itemId: string;
  exportFormat: 'GeoJson' | 'Shapefile';
  title: string;
}

export interface ItemJob {
  user: string;
  exportItemId: string;
  dataUrl: string;
  /** Deletes the temporary export item. */
  remove(): Promise<void>;
}

/** Starts the item export, polls its status; answers where its data is and how to delete it. */
export async function runItemJob(options: ItemJobOptions): Promise<PollResult<ItemJob>> {
  const { client, signal } = options;
  const rest = `${options.portalUrl.replace(/\/+$/, '')}/sharing/rest`;
  const withSignal = signal ? { signal } : {};
  const self = await client.request<{ username?: unknown }>(`${rest}/community/self`, {}, withSignal);
  const user = stringOf(self.username);
  if (!user) {
    throw new EtlError(
      'USAGE',
      'Item exports need a named user (community/self answered no username): log in as the owner or an administrator',
    );
  }
  const userUrl = `${rest}/content/users/${encodeURIComponent(user)}`;
  let started: { jobId?: unknown; exportItemId?: unknown };
  try {
    started = await client.request(
      `${userUrl}/export`,
      {
        itemId: options.itemId,
        exportFormat: options.exportFormat,
        exportParameters: JSON.stringify({
          layers: options.layers.map((l) => ({ id: l.id, where: l.where })),
        }),
        title: options.title,
      },
      { idempotent: false, ...withSignal },
    );
  } catch (error) {
    if (
      isEtlError(error, 'ARCGIS_ERROR') &&
      /does not exist|inaccessible|CONT_0001/i.test(`${error.message} ${(error.details ?? []).join(' ')}`)
    ) {
      throw new EtlError(
        'ITEM_NOT_FOUND',
        `The item ${options.itemId} does not exist or is not accessible to ${user}`,
        { cause: error },
      );
    }
    throw error;
  }
  const jobId = stringOf(started.jobId);
  const exportItemId = stringOf(started.exportItemId);
  if (!jobId || !exportItemId)
    throw new EtlError(
      'INVALID_RESPONSE',
      `The export of item ${options.itemId} answered no jobId/exportItemId`,
    );
  const job: ItemJob = {
    user,
    exportItemId,
    dataUrl: `${rest}/content/items/${exportItemId}/data`,
    remove: async () => {
      await client.request(
        `${userUrl}/items/${exportItemId}/delete`,
        {},
        { idempotent: true, ...withSignal },
      );
    },
  };
  try {
    return await pollJob<ItemJob>({
      what: `export job of item ${options.itemId}`,
      check: async () => {
        const state = jobStatusState(
          await client.request<JobStatus>(
            `${userUrl}/items/${exportItemId}/status`,
            { jobId, jobType: 'export' },
            { method: 'GET', ...withSignal },
          ),
        );
        return state.state === 'done' ? { state: 'done', value: job } : state;
      },
      ...pollSettings(options),
    });
  } catch (error) {
    await job.remove().catch(() => {});
    throw error;
  }
}

function pollSettings(options: Common) {
  return {
    initialDelayMs: options.poll?.initialDelayMs,
    maxDelayMs: options.poll?.maxDelayMs,
    timeoutMs: options.poll?.timeoutMs,
    runtime: options.runtime,
    signal: options.signal,
    onPoll: options.onPoll,
  };
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
