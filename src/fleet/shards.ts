/**
 * A layer larger than the shard size is cut into OID ranges of equal width, one job each: its
 * count (returnCountOnly) and OID min/max (outStatistics) are read once, at enqueue time. Each
 * shard's part is a complete file of the layer's format in a hidden folder next to the output,
 * merged by the layer's last job.
 */
import { basename, dirname, join } from 'node:path';
import type { ArcGISClient } from '../client/arcgis-client.js';
import { EtlError } from '../core/errors.js';
import type { EsriFeature } from '../core/protocol.js';
import { countFeatures, fetchLayerInfo } from '../features/metadata.js';
import { parseBounds } from '../features/strategies/oid-range.js';
import { buildWhere } from '../features/where.js';
import type { FleetLayerJob, FleetShard } from './job-data.js';

export const DEFAULT_SHARD_SIZE = 1_000_000;

export interface ShardPlan {
  count: number;
  /** Undefined: one job for the whole layer. */
  shards: FleetShard[] | undefined;
}

export async function planShards(
  client: ArcGISClient,
  job: FleetLayerJob,
  run: string,
  shardSize: number,
): Promise<ShardPlan> {
  const userWhere = typeof job.options.where === 'string' ? job.options.where : undefined;
  const count = await countFeatures(client, job.url, userWhere ?? '1=1');
  if (count <= shardSize) return { count, shards: undefined };
  const layer = await fetchLayerInfo(client, job.url);
  const outStatistics = JSON.stringify([
    { statisticType: 'min', onStatisticField: layer.oidField, outStatisticFieldName: 'THE_MIN' },
    { statisticType: 'max', onStatisticField: layer.oidField, outStatisticFieldName: 'THE_MAX' },
  ]);
  const body = await client.request<{ features?: EsriFeature[] }>(`${layer.url}/query`, {
    where: userWhere ?? '1=1',
    outStatistics,
    returnGeometry: false,
  });
  const attributes = body?.features?.[0]?.attributes;
  const bounds = attributes ? parseBounds(attributes) : undefined;
  if (!bounds) {
    throw new EtlError('NO_STRATEGY', `${layer.url} answered no OID min/max: it cannot be sharded`);
  }
  const pieces = Math.ceil(count / shardSize);
  const ranges = oidRanges(bounds.min, bounds.max, pieces);
  const folder = partsFolder(job.output, run);
  const ext = extensionOf(job.output);
  return {
    count,
    shards: ranges.map(([min, max], index) => ({
      index,
      count: ranges.length,
      where: buildWhere({ userWhere, oidField: layer.oidField, min, max }),
      part: join(folder, `part-${String(index).padStart(5, '0')}${ext}`),
    })),
  };
}

/** [min, max] cut into `pieces` contiguous ranges of (almost) equal width. */
export function oidRanges(min: number, max: number, pieces: number): Array<[number, number]> {
  const span = max - min + 1;
  const n = Math.max(1, Math.min(pieces, span));
  const ranges: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    const lo = min + Math.floor((span * i) / n);
    const hi = min + Math.floor((span * (i + 1)) / n) - 1;
    ranges.push([lo, hi]);
  }
  return ranges;
}

/** `<dir>/.<name>.<run>.parts`: hidden, next to the output, one per run. */
export function partsFolder(output: string, run: string): string {
  return join(dirname(output), `.${basename(output)}.${run}.parts`);
}

function extensionOf(path: string): string {
  const name = basename(path);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot) : '';
}
