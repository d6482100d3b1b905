/**
 * Answers `{layer}/query`: capability checks, selection, count / ids / statistics / features,
 * paging with maxRecordCount and exceededTransferLimit, and the query-level faults.
 */
import {
  EmulatorQueryError,
  type LayerCapabilities,
  type QueryAnswer,
  type QueryFaults,
  type QueryParams,
} from '../types.js';
import { type AnswerCache, featureQueryKey } from './answer-cache.js';
import type { FieldSet } from './fields.js';
import { hash3 } from './hash.js';
import { invalidParameter, parseQueryParams, type QueryRequest } from './query-params.js';
import type { Selection, Selector } from './select.js';
import type { FeatureWriter } from './serialize-features.js';
import { countPbf, idsPbf, PBF_CONTENT_TYPE, type PbfWriter } from './serialize-pbf.js';
import { statisticsText } from './stats.js';

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
export const GEOJSON_CONTENT_TYPE = 'application/geo+json; charset=utf-8';
export { PBF_CONTENT_TYPE } from './serialize-pbf.js';

export interface QueryContext {
  readonly fields: FieldSet;
  readonly selector: Selector;
  readonly writer: FeatureWriter;
  /** `f=pbf` answers. */
  readonly pbf: PbfWriter;
  readonly maxRecordCount: number;
  readonly capabilities: Required<LayerCapabilities>;
  /** Serialized feature answers (the data never changes, so a repeated page is not rebuilt). */
  readonly cache?: AnswerCache | undefined;
}

export interface PagePlan {
  /** Positions in the selection. */
  start: number;
  end: number;
  exceeded: boolean;
}

/** Which slice of the selection a feature query answers, faults included. */
export function planPage(total: number, req: QueryRequest, ctx: QueryContext, faults: QueryFaults): PagePlan {
  const max = ctx.maxRecordCount;
  const paging = ctx.capabilities.pagination;
  let offset = paging ? (req.resultOffset ?? 0) : 0;
  if (faults.ignoreResultOffset) offset = 0;
  // offsets deeper than the server can go answer an empty page, without saying so
  if (faults.offsetDepth !== undefined && offset > faults.offsetDepth)
    return { start: 0, end: 0, exceeded: false };
  const asked =
    paging && req.resultRecordCount !== undefined && req.resultRecordCount > 0 ? req.resultRecordCount : max;
  const limit = Math.min(asked, max);
  const start = Math.min(offset, total);
  let end = Math.min(total, start + limit);
  let exceeded = end < total;
  if (faults.extraRow && limit === max && end < total) end += 1;
  if (faults.shortPageExceeded && end - start >= 2) {
    end = start + Math.floor((end - start) / 2);
    exceeded = true;
  }
  if (faults.pageCap !== undefined && end - start > faults.pageCap) {
    // a silent cap: fewer rows, and no exceededTransferLimit
    end = start + Math.max(0, Math.floor(faults.pageCap));
    exceeded = false;
  }
  return { start, end, exceeded };
}

function checkCapabilities(req: QueryRequest, ctx: QueryContext): void {
  const caps = ctx.capabilities;
  if (!caps.pagination && req.resultOffset !== undefined) {
    throw new EmulatorQueryError(400, 'Pagination is not supported', [
      "'resultOffset' is not supported by this layer",
    ]);
  }
  if (!caps.idsOnly && req.returnIdsOnly && !req.returnCountOnly) {
    throw invalidParameter("'returnIdsOnly' is not supported by this layer");
  }
  if (!caps.statistics && req.statistics) {
    throw invalidParameter("'outStatistics' is not supported by this layer");
  }
  if (!caps.geojson && req.format === 'geojson') {
    throw invalidParameter("'f' parameter is invalid: geojson is not supported by this layer");
  }
  if (req.format === 'pbf') {
    if (!caps.pbf) throw invalidParameter("'f' parameter is invalid: pbf is not supported by this layer");
    if (req.statistics && !req.returnCountOnly && !req.returnIdsOnly) {
      throw invalidParameter("'f' parameter is invalid: pbf is not supported for statistics queries");
    }
  }
}

function idsText(sel: Selection, ctx: QueryContext): string {
  const parts: string[] = new Array(sel.length);
  const oid = ctx.fields.oid;
  for (let k = 0; k < sel.length; k++) parts[k] = String(oid.get(sel.row(k)));
  return `{"objectIdFieldName":${JSON.stringify(ctx.fields.oidField)},"objectIds":[${parts.join(',')}]}`;
}

function oidsOf(sel: Selection, ctx: QueryContext): Float64Array {
  const oids = new Float64Array(sel.length);
  const oid = ctx.fields.oid;
  for (let k = 0; k < sel.length; k++) oids[k] = oid.get(sel.row(k)) as number;
  return oids;
}

export function runQuery(ctx: QueryContext, params: QueryParams, faults: QueryFaults = {}): QueryAnswer {
  const req = parseQueryParams(params, ctx.fields);
  checkCapabilities(req, ctx);
  const features = !req.returnCountOnly && !req.returnIdsOnly && !req.statistics;
  const key = features && ctx.cache ? featureQueryKey(req, faults) : undefined;
  if (key !== undefined) {
    const cached = ctx.cache!.get(key);
    if (cached) return cached;
  }
  if (req.statistics && faults.emptyStatistics && !req.returnCountOnly && !req.returnIdsOnly) {
    return { body: '{}', contentType: JSON_CONTENT_TYPE };
  }
  const selected = ctx.selector.select(req);
  const ignored = faults.ignoreOrderByAll || (faults.ignoreOrderBy && oidOrderOrNone(req));
  const sel = ignored ? fileOrder(selected) : selected;
  if (req.format === 'pbf' && (req.returnCountOnly || req.returnIdsOnly)) {
    const body = req.returnCountOnly ? countPbf(sel.length) : idsPbf(ctx.fields.oidField, oidsOf(sel, ctx));
    return { body, contentType: PBF_CONTENT_TYPE };
  }
  if (req.returnCountOnly) return { body: `{"count":${sel.length}}`, contentType: JSON_CONTENT_TYPE };
  if (req.returnIdsOnly) return { body: idsText(sel, ctx), contentType: JSON_CONTENT_TYPE };
  if (req.statistics) {
    return { body: statisticsText(sel, req.statistics, req.groupBy), contentType: JSON_CONTENT_TYPE };
  }
  const answer = featureAnswer(ctx, req, sel, faults);
  return key === undefined ? answer : ctx.cache!.set(key, answer.body, answer.contentType, answer.features);
}

/** No ordering, or ordering on the OID first: what a server ignoring orderByFields on its OID serves in file order. */
function oidOrderOrNone(req: QueryRequest): boolean {
  return req.orderBy.length === 0 || req.orderBy[0]!.field.isOid === true;
}

const FILE_ORDERS = new WeakMap<Selection, Selection>();

/**
 * The rows of a selection in a fixed shuffled "file" order (a hash of the row), the same for every
 * query: paging with resultOffset in this order is consistent, but it is not OID order.
 */
function fileOrder(sel: Selection): Selection {
  const hit = FILE_ORDERS.get(sel);
  if (hit) return hit;
  const n = sel.length;
  const rows = new Uint32Array(n);
  const keys = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    rows[k] = sel.row(k);
    keys[k] = hash3(0x0f11e, rows[k]!, 7);
  }
  const positions = Array.from({ length: n }, (_, k) => k).sort(
    (a, b) => keys[a]! - keys[b]! || rows[a]! - rows[b]!,
  );
  const ordered = Uint32Array.from(positions, (k) => rows[k]!);
  const out: Selection = { length: n, row: (k) => ordered[k]! };
  FILE_ORDERS.set(sel, out);
  return out;
}

function featureAnswer(
  ctx: QueryContext,
  req: QueryRequest,
  sel: Selection,
  faults: QueryFaults,
): QueryAnswer {
  const plan = planPage(sel.length, req, ctx, faults);
  const count = plan.end - plan.start;
  if (faults.failAbove !== undefined && count > faults.failAbove) {
    throw new EmulatorQueryError(500, 'Error performing query operation', []);
  }
  const rows = new Uint32Array(count);
  for (let k = 0; k < count; k++) rows[k] = sel.row(plan.start + k);
  if (req.format === 'geojson') {
    return {
      body: ctx.writer.geojsonText(rows, req, plan.exceeded),
      contentType: GEOJSON_CONTENT_TYPE,
      features: count,
    };
  }
  if (req.format === 'pbf') {
    return {
      body: ctx.pbf.features(rows, req, plan.exceeded),
      contentType: PBF_CONTENT_TYPE,
      features: count,
    };
  }
  return {
    body: ctx.writer.esriText(rows, req, plan.exceeded),
    contentType: JSON_CONTENT_TYPE,
    features: count,
  };
}
