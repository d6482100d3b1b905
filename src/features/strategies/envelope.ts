/**
 * Strategy 5: a quadtree over the layer extent, for servers that allow no paging or statistics.
 * A cell answering exceededTransferLimit (or failing with a query error) is split in four; features
 * returned by several cells are de-duplicated by OID downstream (output is not in OID order).
 * No envelope sees a feature whose geometry is null (nor what a cell capped silently): when the
 * server lists ids, what the quadtree did not return is fetched by id afterwards.
 */

import { EtlError } from '../../core/errors.js';
import type { EsriEnvelope, EsriFeature } from '../../core/protocol.js';
import { poolConcurrency } from '../concurrency.js';
import { orderedPool } from '../ordered-pool.js';
import { silentCap } from '../page-cap.js';
import { orderPage } from '../page-order.js';
import { pageBudget } from '../page-weight.js';
import { featureParams, isQueryFailure, runQuery } from '../query.js';
import { bboxIn } from '../spatial-filter.js';
import { fallbackError, isFallbackError } from '../strategy-errors.js';
import { buildWhere } from '../where.js';
import { fetchObjectIds, idPages } from './ids.js';
import type { PreparedStrategy, QueryContext, Strategy } from './types.js';

const MAX_DEPTH = 24;

export const envelopeStrategy: Strategy = {
  name: 'envelope',
  async prepare(ctx: QueryContext): Promise<PreparedStrategy> {
    const extent = ctx.layer.extent;
    if (!extent || !ctx.layer.geometryType) {
      throw fallbackError('NO_STRATEGY', `${ctx.layer.url} has no extent or geometry: no envelope strategy`);
    }
    if (!(extent.xmax >= extent.xmin && extent.ymax >= extent.ymin)) {
      throw fallbackError('NO_STRATEGY', `${ctx.layer.url} has an empty extent`);
    }
    const ids = await idList(ctx);
    if (ctx.filter && !ids && ctx.expected > 0) {
      // the cells replace the filter's geometry: only the filtered id list tells which features it keeps
      throw fallbackError(
        'NO_STRATEGY',
        `${ctx.layer.url} lists no object ids for the ${ctx.filter.describe}: the envelope strategy cannot apply it`,
      );
    }
    const grid = narrowed(ctx, extent);
    if (!grid) return { name: 'envelope', ordered: false, pages: async function* () {} };
    const where = buildWhere({ userWhere: ctx.userWhere, oidField: ctx.layer.oidField, after: ctx.after });
    const cap = await silentCap(ctx, where, 'envelope cells');
    return {
      name: 'envelope',
      ordered: false,
      ...(ids ? { ids } : {}),
      pages: async function* () {
        yield* cellPages(ctx, grid, cap, ids);
        if (ids) yield* invisiblePages(ctx, ids);
      },
    };
  },
};

/**
 * The quadtree's extent: the layer's, intersected with the filter's bounding box when the filter
 * can be put in the extent's spatial reference (undefined when they do not meet: nothing to query).
 */
function narrowed(ctx: QueryContext, extent: EsriEnvelope): EsriEnvelope | undefined {
  if (!ctx.filter) return extent;
  const sr = extent.spatialReference;
  const box = bboxIn(ctx.filter, sr?.latestWkid ?? sr?.wkid);
  if (!box) return extent;
  const xmin = Math.max(extent.xmin, box[0]);
  const ymin = Math.max(extent.ymin, box[1]);
  const xmax = Math.min(extent.xmax, box[2]);
  const ymax = Math.min(extent.ymax, box[3]);
  if (xmin > xmax || ymin > ymax) return ctx.expected > 0 ? extent : undefined;
  return { xmin, ymin, xmax, ymax, ...(sr ? { spatialReference: sr } : {}) };
}

/** The id list when the server gives one that matches the count; else the count alone checks. */
async function idList(ctx: QueryContext): Promise<Float64Array | undefined> {
  if (ctx.expected === 0) return undefined;
  try {
    const ids = await fetchObjectIds(ctx);
    return ids.length === ctx.expected ? ids : undefined;
  } catch (error) {
    if (isFallbackError(error)) return undefined;
    throw error;
  }
}

/** The listed ids no cell returned (null geometries, silently capped cells), fetched by id. */
async function* invisiblePages(ctx: QueryContext, ids: Float64Array): AsyncGenerator<EsriFeature[]> {
  const written = ctx.written;
  if (!written) return;
  const missing = ids.filter((oid) => !written.has(oid));
  if (missing.length === 0) return;
  ctx.emit?.({
    type: 'warning',
    message: `${missing.length} features were in no envelope (null geometry, or a cell cut short); fetching them by id`,
  });
  yield* idPages(ctx, missing);
}

type Cell = [xmin: number, ymin: number, xmax: number, ymax: number];

/** Splits an extent (padded a little, for stale extents and edge points) into an n×n grid. */
export function gridCells(extent: EsriEnvelope, n: number): Cell[] {
  const w = extent.xmax - extent.xmin;
  const h = extent.ymax - extent.ymin;
  const pad = Math.max(w, h, 1e-6) * 1e-3;
  const x0 = extent.xmin - pad;
  const y0 = extent.ymin - pad;
  const dx = (w + 2 * pad) / n;
  const dy = (h + 2 * pad) / n;
  const cells: Cell[] = [];
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      cells.push([
        x0 + i * dx,
        y0 + j * dy,
        i === n - 1 ? x0 + w + 2 * pad : x0 + (i + 1) * dx,
        j === n - 1 ? y0 + h + 2 * pad : y0 + (j + 1) * dy,
      ]);
    }
  }
  return cells;
}

function quarters([xmin, ymin, xmax, ymax]: Cell): Cell[] {
  const mx = xmin + (xmax - xmin) / 2;
  const my = ymin + (ymax - ymin) / 2;
  return [
    [xmin, ymin, mx, my],
    [mx, ymin, xmax, my],
    [xmin, my, mx, ymax],
    [mx, my, xmax, ymax],
  ];
}

async function* cellPages(
  ctx: QueryContext,
  extent: EsriEnvelope,
  cap: number | undefined,
  ids: Float64Array | undefined,
): AsyncGenerator<EsriFeature[], void, undefined> {
  const oidField = ctx.layer.oidField;
  const where = buildWhere({ userWhere: ctx.userWhere, oidField, after: ctx.after });
  const sr = extent.spatialReference;
  const inSR = sr?.latestWkid ?? sr?.wkid;

  const fetchCell = async (cell: Cell, depth: number, signal: AbortSignal): Promise<EsriFeature[]> => {
    if (signal.aborted) throw signal.reason;
    const split = async (): Promise<EsriFeature[]> => {
      const out: EsriFeature[] = [];
      for (const q of quarters(cell)) out.push(...(await fetchCell(q, depth + 1, signal)));
      return out;
    };
    const [xmin, ymin, xmax, ymax] = cell;
    let result: Awaited<ReturnType<typeof runQuery>>;
    try {
      // the cell takes the place of the filter's geometry (and of its inSR)
      const { inSR: _filterSR, ...base } = featureParams(ctx, where);
      result = await runQuery(ctx, {
        ...base,
        geometry: JSON.stringify({ xmin, ymin, xmax, ymax, ...(sr ? { spatialReference: sr } : {}) }),
        geometryType: 'esriGeometryEnvelope',
        spatialRel: 'esriSpatialRelIntersects',
        ...(inSR === undefined ? {} : { inSR }),
      });
    } catch (error) {
      if (!isQueryFailure(error) || depth >= MAX_DEPTH) throw error;
      return split();
    }
    // as many rows as the server's silent cap: maybe cut short, so split like a flagged cell (the
    // id list, when there is one, fetches what a cell at the deepest level still could not give)
    const capped = cap !== undefined && result.features.length >= cap;
    if (capped && depth >= MAX_DEPTH) return orderPage(result.features, oidField).features;
    if (result.exceededTransferLimit || capped) {
      if (depth >= MAX_DEPTH) {
        throw new EtlError(
          'EXTRACTION_INCOMPLETE',
          `An envelope cell still exceeds the transfer limit after ${MAX_DEPTH} splits (too many features at one spot)`,
        );
      }
      return split();
    }
    return orderPage(result.features, oidField).features;
  };

  // with a filter, a cell answers what intersects the cell: only the filtered ids are kept
  const kept = (features: EsriFeature[]): EsriFeature[] =>
    ctx.filter && ids ? features.filter((f) => listed(ids, Number(f.attributes?.[oidField]))) : features;
  const perCell = cap === undefined ? ctx.pageSize : Math.max(1, Math.min(ctx.pageSize, cap - 1));
  const n = Math.max(1, Math.ceil(Math.sqrt(Math.ceil(ctx.expected / perCell))));
  yield* orderedPool(gridCells(extent, n), async (cell, signal) => kept(await fetchCell(cell, 0, signal)), {
    ...poolConcurrency(ctx.concurrency),
    signal: ctx.signal,
    budget: pageBudget(ctx.pageBudget),
  });
}

/** Binary search in a sorted id list. */
function listed(ids: Float64Array, oid: number): boolean {
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = ids[mid]!;
    if (v === oid) return true;
    if (v < oid) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
