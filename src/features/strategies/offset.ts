/**
 * Strategy 1: resultOffset + resultRecordCount, ordered by OID. Guards: a probe checks that the server
 * honours resultOffset; a page repeating already-written OIDs beyond the previous page's extra rows is
 * an ignored resultOffset (never duplicates); a short page with exceededTransferLimit is continued.
 */
import { EtlError } from '../../core/errors.js';
import type { EsriFeature } from '../../core/protocol.js';
import { orderedPool } from '../ordered-pool.js';
import { orderPage } from '../page-order.js';
import { featureParams, isQueryFailure, runQuery, unsplittableError } from '../query.js';
import { fallbackError } from '../strategy-errors.js';
import { buildWhere } from '../where.js';
import { refusal } from './refusal.js';
import type { PreparedStrategy, QueryContext, Strategy } from './types.js';

const MAX_EMPTY_CONTINUATIONS = 3;

export const offsetStrategy: Strategy = {
  name: 'offset',
  async prepare(ctx: QueryContext): Promise<PreparedStrategy> {
    if (!ctx.layer.supportsPagination) {
      throw fallbackError(
        'NO_STRATEGY',
        `${ctx.layer.url} does not support pagination (advancedQueryCapabilities.supportsPagination)`,
      );
    }
    const where = buildWhere({ userWhere: ctx.userWhere, oidField: ctx.layer.oidField, after: ctx.after });
    if (ctx.expected > 1) await probeOffset(ctx, where);
    return { name: 'offset', ordered: true, pages: () => offsetPages(ctx, where) };
  },
};

function ignoredOffsetError(detail: string): EtlError {
  return fallbackError(
    'EXTRACTION_INCOMPLETE',
    `The server ignores resultOffset (${detail}); offset paging would duplicate features: use --strategy ids or oid-range`,
  );
}

/** Two tiny queries: the OID at offset 1 must be the second OID of offset 0. */
async function probeOffset(ctx: QueryContext, where: string): Promise<void> {
  const oid = ctx.layer.oidField;
  const base = { where, outFields: oid, returnGeometry: false, orderByFields: `${oid} ASC` };
  let first: EsriFeature[];
  let second: EsriFeature[];
  try {
    [first, second] = await Promise.all([
      runQuery(ctx, { ...base, resultOffset: 0, resultRecordCount: 2 }).then((r) => r.features),
      runQuery(ctx, { ...base, resultOffset: 1, resultRecordCount: 1 }).then((r) => r.features),
    ]);
  } catch (error) {
    throw refusal(error, 'resultOffset paging');
  }
  const a = orderPage(first, oid).oids;
  const b = orderPage(second, oid).oids;
  if (a.length < 2 || b.length < 1) return; // too few features to tell; the page guards still apply
  if (b[0] !== a[1]) throw ignoredOffsetError(`offset 1 answered OID ${b[0]}, expected ${a[1]}`);
}

interface OffsetTask {
  offset: number;
  count: number;
}

async function* offsetPages(
  ctx: QueryContext,
  where: string,
): AsyncGenerator<EsriFeature[], void, undefined> {
  const oidField = ctx.layer.oidField;
  const fetchSpan = async (offset: number, count: number, signal: AbortSignal): Promise<EsriFeature[]> => {
    const out: EsriFeature[] = [];
    let got = 0;
    let empty = 0;
    while (got < count) {
      if (signal.aborted) throw signal.reason;
      let result: Awaited<ReturnType<typeof runQuery>>;
      try {
        result = await runQuery(ctx, {
          ...featureParams(ctx, where),
          resultOffset: offset + got,
          resultRecordCount: count - got,
          orderByFields: `${oidField} ASC`,
        });
      } catch (error) {
        if (!isQueryFailure(error)) throw error;
        const rest = count - got;
        if (rest <= 1) throw unsplittableError(`The feature at offset ${offset + got}`, error);
        const half = Math.ceil(rest / 2);
        out.push(...(await fetchSpan(offset + got, half, signal)));
        out.push(...(await fetchSpan(offset + got + half, rest - half, signal)));
        return out;
      }
      out.push(...result.features);
      got += result.features.length;
      // A short page WITHOUT exceededTransferLimit is the end of the data; WITH it, more rows exist.
      if (!result.exceededTransferLimit) break;
      if (result.features.length === 0 && ++empty >= MAX_EMPTY_CONTINUATIONS) {
        throw new EtlError(
          'EXTRACTION_INCOMPLETE',
          `The server keeps answering empty pages with exceededTransferLimit at offset ${offset + got}`,
        );
      }
    }
    return out;
  };

  function* tasks(): Generator<OffsetTask> {
    for (let offset = 0; offset < ctx.expected; offset += ctx.pageSize) yield { offset, count: ctx.pageSize };
  }

  let lastOid = ctx.after ?? Number.NEGATIVE_INFINITY;
  let allowance = 0;
  const pages = orderedPool(
    tasks(),
    async (task, signal) => ({ task, features: await fetchSpan(task.offset, task.count, signal) }),
    { concurrency: ctx.concurrency, signal: ctx.signal },
  );
  for await (const { task, features } of pages) {
    const page = orderPage(features, oidField);
    let overlap = 0;
    while (overlap < page.oids.length && page.oids[overlap]! <= lastOid) overlap++;
    if (overlap > allowance) {
      throw ignoredOffsetError(
        `the page at offset ${task.offset} repeats ${overlap} features already written, up to OID ${lastOid}`,
      );
    }
    // maxRecordCount + 1 rows: the extra rows belong to the next page, which repeats them; the
    // extraction guard drops (and counts) the repeated ones.
    allowance = Math.max(0, features.length - task.count);
    if (page.oids.length > 0) lastOid = Math.max(lastOid, page.oids[page.oids.length - 1]!);
    yield page.features;
  }
}
