/**
 * Strategy 2: `returnIdsOnly` → sorted unique OIDs (a Float64Array) → `objectIds` batches.
 * Guards: the id list must match returnCountOnly; features outside a batch or already seen are
 * dropped; a short batch, flagged with exceededTransferLimit or not (a server capping its pages
 * silently), fetches its missing ids again, and later batches shrink to what the server gives.
 * Each batch is a known set of ids, so sorting it locally never relies on the server's order.
 */

import { isEtlError } from '../../core/errors.js';
import type { EsriFeature } from '../../core/protocol.js';
import { poolConcurrency } from '../concurrency.js';
import { sortedUniqueOids } from '../oid.js';
import { binarySearch } from '../oid-set.js';
import { orderedPool } from '../ordered-pool.js';
import { orderPage } from '../page-order.js';
import { pageBudget } from '../page-weight.js';
import {
  featureParams,
  isQueryFailure,
  retryQueryFailures,
  runQuery,
  signalOption,
  unsplittableError,
} from '../query.js';
import { filterParams } from '../spatial-filter.js';
import { fallbackError } from '../strategy-errors.js';
import { buildWhere } from '../where.js';
import { refusal } from './refusal.js';
import type { PreparedStrategy, QueryContext, Strategy } from './types.js';

export const idsStrategy: Strategy = {
  name: 'ids',
  async prepare(ctx: QueryContext): Promise<PreparedStrategy> {
    const ids = await fetchObjectIds(ctx);
    if (ids.length !== ctx.expected) {
      throw fallbackError(
        'EXTRACTION_INCOMPLETE',
        `returnIdsOnly answered ${ids.length} object ids but returnCountOnly counts ${ctx.expected}`,
      );
    }
    return { name: 'ids', ordered: true, ids, pages: () => idPages(ctx, ids) };
  },
};

/** Every OID matching (userWhere, after), sorted, unique. */
export async function fetchObjectIds(ctx: QueryContext): Promise<Float64Array> {
  const where = buildWhere({ userWhere: ctx.userWhere, oidField: ctx.layer.oidField, after: ctx.after });
  let body: Record<string, unknown>;
  try {
    body = await retryQueryFailures(
      () =>
        ctx.client.request<Record<string, unknown>>(
          `${ctx.layer.url}/query`,
          { where, ...filterParams(ctx.filter), returnIdsOnly: true },
          signalOption(ctx.signal),
        ),
      ctx.pageRetries,
    );
  } catch (error) {
    throw refusal(error, 'returnIdsOnly');
  }
  const raw = body?.objectIds;
  if (raw === null || (raw === undefined && Array.isArray(body?.features))) return new Float64Array(0);
  if (!Array.isArray(raw)) throw fallbackError('NO_STRATEGY', 'returnIdsOnly answered no objectIds array');
  if (body.exceededTransferLimit === true) {
    throw fallbackError('NO_STRATEGY', 'returnIdsOnly answered a truncated id list (exceededTransferLimit)');
  }
  try {
    return sortedUniqueOids(raw);
  } catch (error) {
    throw isEtlError(error) ? fallbackError('NO_STRATEGY', error.message, { cause: error }) : error;
  }
}

/** The features of `ids` (sorted, unique), in batches of at most ctx.pageSize, in OID order. */
export async function* idPages(
  ctx: QueryContext,
  ids: Float64Array,
): AsyncGenerator<EsriFeature[], void, undefined> {
  const where = buildWhere({ userWhere: ctx.userWhere, oidField: ctx.layer.oidField });
  const oidField = ctx.layer.oidField;
  /** Shrinks to what the server really gives when it caps its pages without saying so. */
  let batchSize = ctx.pageSize;

  const fetchBatch = async (batch: Float64Array, signal: AbortSignal): Promise<EsriFeature[]> => {
    if (signal.aborted) throw signal.reason;
    let result: Awaited<ReturnType<typeof runQuery>>;
    try {
      result = await runQuery(ctx, { ...featureParams(ctx, where), objectIds: batch.join(',') });
    } catch (error) {
      if (!isQueryFailure(error)) throw error;
      if (batch.length <= 1) throw unsplittableError(`Feature ${oidField}=${batch[0]}`, error);
      const half = Math.ceil(batch.length / 2);
      return [
        ...(await fetchBatch(batch.subarray(0, half), signal)),
        ...(await fetchBatch(batch.subarray(half), signal)),
      ];
    }
    const page = orderPage(result.features, oidField, (oid) => binarySearch(batch, oid) >= 0);
    if (page.oids.length < batch.length && (result.exceededTransferLimit || page.oids.length > 0)) {
      if (page.oids.length === 0) {
        // Truncated to nothing: ask for less at a time.
        if (batch.length <= 1) return [];
        const half = Math.ceil(batch.length / 2);
        return [
          ...(await fetchBatch(batch.subarray(0, half), signal)),
          ...(await fetchBatch(batch.subarray(half), signal)),
        ];
      }
      // A short answer (flagged as truncated, or capped silently): fetch the ids it left out, then
      // merge in OID order. An id answered by no query at all is left to the end check.
      if (!result.exceededTransferLimit && page.oids.length < batchSize) {
        batchSize = page.oids.length;
        ctx.emit?.({
          type: 'warning',
          message: `the server returns at most ${batchSize} features per query without exceededTransferLimit; asking ${batchSize} ids at a time`,
        });
      }
      const received = new Set(page.oids);
      const missing = batch.filter((oid) => !received.has(oid));
      const rest = await fetchBatch(missing, signal);
      return orderPage([...page.features, ...rest], oidField).features;
    }
    return page.features;
  };

  function* batches(): Generator<Float64Array> {
    for (let i = 0; i < ids.length; ) {
      const size = batchSize;
      yield ids.subarray(i, i + size);
      i += size;
    }
  }

  yield* orderedPool(batches(), fetchBatch, {
    ...poolConcurrency(ctx.concurrency),
    signal: ctx.signal,
    budget: pageBudget(ctx.pageBudget),
  });
}
