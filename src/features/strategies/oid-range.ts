/**
 * Strategy 3: OID min/max from `outStatistics`, then `where` OID ranges. Adaptive: a range answering
 * exceededTransferLimit (or failing with a query error) is split in half; sparse ranges are fine.
 * Guards: the statistics are cross-checked with returnCountOnly before anything is written; one
 * OID-only query over the whole range learns a page cap the server does not flag (fewer rows than
 * the count, no exceededTransferLimit), and a range answering that many rows is split as if flagged.
 */

import { EtlError } from '../../core/errors.js';
import type { EsriFeature } from '../../core/protocol.js';
import { poolConcurrency } from '../concurrency.js';
import { countFeatures } from '../metadata.js';
import { toOid } from '../oid.js';
import { orderedPool } from '../ordered-pool.js';
import { silentCap } from '../page-cap.js';
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

export const oidRangeStrategy: Strategy = {
  name: 'oid-range',
  async prepare(ctx: QueryContext): Promise<PreparedStrategy> {
    if (ctx.expected === 0) return { name: 'oid-range', ordered: true, pages: async function* () {} };
    const { min, max } = await fetchOidBounds(ctx);
    const where = buildWhere({
      userWhere: ctx.userWhere,
      oidField: ctx.layer.oidField,
      after: ctx.after,
      min,
      max,
    });
    const inRange = await countFeatures(ctx.client, ctx.layer.url, where, ctx.signal, ctx.filter);
    if (inRange !== ctx.expected) {
      throw fallbackError(
        'EXTRACTION_INCOMPLETE',
        `OID statistics look wrong: [${min}, ${max}] holds ${inRange} features but returnCountOnly counts ${ctx.expected}`,
      );
    }
    const cap = await silentCap(ctx, where, 'ranges');
    return { name: 'oid-range', ordered: true, pages: () => rangePages(ctx, min, max, cap) };
  },
};

/** min/max of the OID field for (userWhere, after), via outStatistics. */
export async function fetchOidBounds(ctx: QueryContext): Promise<{ min: number; max: number }> {
  const oid = ctx.layer.oidField;
  const where = buildWhere({ userWhere: ctx.userWhere, oidField: oid, after: ctx.after });
  const outStatistics = JSON.stringify([
    { statisticType: 'min', onStatisticField: oid, outStatisticFieldName: 'THE_MIN' },
    { statisticType: 'max', onStatisticField: oid, outStatisticFieldName: 'THE_MAX' },
  ]);
  let body: Record<string, unknown>;
  try {
    body = await retryQueryFailures(
      () =>
        ctx.client.request<Record<string, unknown>>(
          `${ctx.layer.url}/query`,
          { where, ...filterParams(ctx.filter), outStatistics, returnGeometry: false },
          signalOption(ctx.signal),
        ),
      ctx.pageRetries,
    );
  } catch (error) {
    throw refusal(error, 'outStatistics');
  }
  const attributes = (body?.features as EsriFeature[] | undefined)?.[0]?.attributes;
  const bounds = attributes ? parseBounds(attributes) : undefined;
  if (!bounds) throw fallbackError('NO_STRATEGY', 'outStatistics answered no usable OID min/max');
  return bounds;
}

/** Reads THE_MIN/THE_MAX, whatever the server made of the names (`MIN(x) AS THE_MIN`, lower case, …). */
export function parseBounds(attributes: Record<string, unknown>): { min: number; max: number } | undefined {
  const find = (suffix: string, position: number): number | undefined => {
    const keys = Object.keys(attributes);
    const key = keys.find((k) => k.toUpperCase().endsWith(suffix)) ?? keys[position];
    return key === undefined ? undefined : toOid(attributes[key]);
  };
  const min = find('THE_MIN', 0);
  const max = find('THE_MAX', 1);
  return min === undefined || max === undefined || min > max ? undefined : { min, max };
}

async function* rangePages(
  ctx: QueryContext,
  min: number,
  max: number,
  cap: number | undefined,
): AsyncGenerator<EsriFeature[], void, undefined> {
  const oidField = ctx.layer.oidField;
  const fetchRange = async (a: number, b: number, signal: AbortSignal): Promise<EsriFeature[]> => {
    if (signal.aborted) throw signal.reason;
    // Split after the largest OID a truncated answer returned (with orderByFields that is where the
    // server stopped, so [a, at] fits in one request), else at the middle.
    const split = async (at?: number): Promise<EsriFeature[]> => {
      const mid = at !== undefined && at >= a && at < b ? at : a + Math.floor((b - a) / 2);
      return [...(await fetchRange(a, mid, signal)), ...(await fetchRange(mid + 1, b, signal))];
    };
    let result: Awaited<ReturnType<typeof runQuery>>;
    try {
      result = await runQuery(ctx, {
        ...featureParams(ctx, buildWhere({ userWhere: ctx.userWhere, oidField, min: a, max: b })),
        ...(ctx.layer.supportsOrderBy ? { orderByFields: `${oidField} ASC` } : {}),
      });
    } catch (error) {
      if (!isQueryFailure(error)) throw error;
      if (a === b) throw unsplittableError(`Feature ${oidField}=${a}`, error);
      return split();
    }
    if (result.exceededTransferLimit) {
      if (a === b) {
        throw new EtlError(
          'EXTRACTION_INCOMPLETE',
          `The range ${oidField}=${a} answered exceededTransferLimit`,
        );
      }
      const returned = orderPage(result.features, oidField, (oid) => oid >= a && oid <= b).oids;
      return split(returned[returned.length - 1]);
    }
    const page = orderPage(result.features, oidField, (oid) => oid >= a && oid <= b);
    // as many rows as the silent cap: maybe cut short, so split (in halves: the rows returned need
    // not be the lowest OIDs when the server ignores orderByFields)
    if (cap !== undefined && a < b && result.features.length >= cap) return split();
    return page.features;
  };

  // Range width from the density: about one page of features per range when OIDs are even.
  const span = max - min + 1;
  const perRange = Math.max(1, Math.min(ctx.pageSize, cap === undefined ? ctx.pageSize : cap - 1));
  const width = Math.max(1, Math.ceil((span / Math.max(1, ctx.expected)) * perRange));
  function* ranges(): Generator<[number, number]> {
    for (let a = min; a <= max; a += width) yield [a, Math.min(max, a + width - 1)];
  }
  yield* orderedPool(ranges(), ([a, b], signal) => fetchRange(a, b, signal), {
    ...poolConcurrency(ctx.concurrency),
    signal: ctx.signal,
    budget: pageBudget(ctx.pageBudget),
  });
}
