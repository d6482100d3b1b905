/**
 * Paging with resultOffset + resultRecordCount, in two modes:
 *
 * - `offset`: ordered by OID (`orderByFields`). Nothing about the server is trusted: the probe and
 *   every answer are checked in the order the server sent them (before any local sorting), so a
 *   server that ignores orderByFields on the OID is left before a wrong page is written.
 * - `server-order`: the server's own order, without orderByFields (what ogr2ogr and pyesridump do).
 *   Its output is not in OID order: repeats are dropped by OID and the end count is checked.
 *
 * Both detect a page cap the server does not flag (a short page without exceededTransferLimit while
 * the count says more remain): the rest of the span is asked for, and pages shrink to what the
 * server really gives. An empty unflagged page before the count is reached (offsets honoured only up
 * to a depth) leaves the strategy.
 */
import { EtlError } from '../../core/errors.js';
import type { EsriFeature } from '../../core/protocol.js';
import { poolConcurrency } from '../concurrency.js';
import { featureOid } from '../oid.js';
import { OidSet } from '../oid-set.js';
import { orderedPool } from '../ordered-pool.js';
import { orderPage } from '../page-order.js';
import { taggedPageBudget } from '../page-weight.js';
import {
  featureParams,
  isQueryFailure,
  pbfUnchecked,
  type QueryResult,
  runQuery,
  unsplittableError,
} from '../query.js';
import { filterParams } from '../spatial-filter.js';
import { fallbackError } from '../strategy-errors.js';
import { buildWhere } from '../where.js';
import { refusal } from './refusal.js';
import type { PreparedStrategy, QueryContext, Strategy, StrategyName } from './types.js';

const MAX_EMPTY_CONTINUATIONS = 3;

export const offsetStrategy: Strategy = {
  name: 'offset',
  prepare: (ctx) => prepareOffset(ctx, 'offset'),
};

export const serverOrderStrategy: Strategy = {
  name: 'server-order',
  prepare: (ctx) => prepareOffset(ctx, 'server-order'),
};

async function prepareOffset(ctx: QueryContext, name: StrategyName): Promise<PreparedStrategy> {
  if (!ctx.layer.supportsPagination) {
    throw fallbackError(
      'NO_STRATEGY',
      `${ctx.layer.url} does not support pagination (advancedQueryCapabilities.supportsPagination)`,
    );
  }
  const byOid = name === 'offset';
  const where = buildWhere({ userWhere: ctx.userWhere, oidField: ctx.layer.oidField, after: ctx.after });
  // promoted by `auto` right after offset's probe found the order ignored: that probe's answer is
  // this strategy's first page, and the probe is not repeated (the page guards, the OID set and the
  // end count still apply)
  let head = byOid ? undefined : ctx.head;
  const wire = ctx.wire;
  if (head !== undefined && pbfUnchecked(wire) && !wire.forced) {
    // The first page came in f=json, and the pbf of a server that ignores orderByFields would need
    // a request of its own to be checked (no other page shares a feature with the first): JSON it is.
    wire.pbf = false;
  }
  let check: Promise<void> | undefined;
  if (ctx.expected > 1 && head === undefined) ({ head, check } = await probeOffset(ctx, where, byOid));
  // too few features to probe: the first page started beside the count is the page (if it came)
  else if (byOid && ctx.firstPage) head = await ctx.firstPage.catch(() => undefined);
  // a pinned number of pages at once is a promise to the server: the check is not one more beside them
  if (check && typeof ctx.concurrency === 'number') {
    await check;
    check = undefined;
  }
  return { name, ordered: byOid, pages: () => offsetPages(ctx, where, byOid, head, check) };
}

function ignoredOffsetError(detail: string): EtlError {
  return fallbackError(
    'EXTRACTION_INCOMPLETE',
    `The server ignores resultOffset (${detail}); offset paging would duplicate features: use --strategy ids or oid-range`,
  );
}

/** Errors saying the server ignores orderByFields on the OID, with the first page the probe got. */
const ignoredOrder = new WeakMap<EtlError, QueryResult | undefined>();

/**
 * The message names the real cause, so that a user knows which strategy can still work. `head`:
 * the first page of the query (offset 0, a full page) as the server answered it, when the probe
 * fetched one: in the server's own order, it is server-order's first page.
 */
export function ignoredOrderError(oidField: string, detail: string, head?: QueryResult): EtlError {
  const error = fallbackError(
    'EXTRACTION_INCOMPLETE',
    `The server ignores orderByFields on ${oidField} (${detail}); OID-ordered offset paging cannot be used: use --strategy ids, oid-range or server-order`,
  );
  ignoredOrder.set(error, head);
  return error;
}

/** Whether offset was left because the server ignores orderByFields on the OID. */
export function isIgnoredOrderError(error: unknown): boolean {
  return error instanceof EtlError && ignoredOrder.has(error);
}

/** The first page offset's probe fetched before it found the order ignored (see ignoredOrderError). */
export function ignoredOrderHead(error: unknown): QueryResult | undefined {
  return error instanceof EtlError ? ignoredOrder.get(error) : undefined;
}

function unstableOrderError(detail: string): EtlError {
  return fallbackError(
    'EXTRACTION_INCOMPLETE',
    `The server's order is not the same from one query to the next (${detail}); offset paging cannot be used`,
  );
}

/** OIDs of an answer, in the order the server sent them. */
function rawOids(features: readonly EsriFeature[], oidField: string): number[] {
  return features.map((f) => featureOid(f.attributes ?? {}, oidField));
}

/**
 * Two queries, compared as the server answered them (never sorted). The first is the query's first
 * page (offset 0, a full page of the export's own fields; in f=json while the server's pbf is not
 * yet trusted, to check it against): ordered by OID, its OIDs must ascend, so that a server
 * ignoring orderByFields is seen before anything is written. Offset 1 must then start with the
 * second of them; that one-row query is in the export's wire format, so that its pbf is checked
 * against the first page's f=json (no request of its own). A server that fails the first query (it
 * fails big answers) is asked for two OIDs instead. A server that fails the order check is never
 * asked the second query.
 *
 * Returns the first page, which the strategy writes as its own (no request is made twice), and
 * the offset check (`check`, when one is made): it goes out with the pages, whose writing waits for
 * it, not their fetching (the server's instances are not left idle for a round trip).
 */
async function probeOffset(
  ctx: QueryContext,
  where: string,
  byOid: boolean,
): Promise<{ head: QueryResult | undefined; check?: Promise<void> }> {
  const oid = ctx.layer.oidField;
  const orderBy = byOid ? { orderByFields: `${oid} ASC` } : {};
  const base = { where, ...filterParams(ctx.filter), outFields: oid, returnGeometry: false, ...orderBy };
  const ask = async (resultOffset: number, resultRecordCount: number, full = false) => {
    try {
      return await runQuery(
        ctx,
        full
          ? { ...featureParams(ctx, where), ...orderBy, resultOffset, resultRecordCount }
          : { ...base, resultOffset, resultRecordCount },
      );
    } catch (error) {
      throw refusal(error, 'resultOffset paging');
    }
  };
  const wire = ctx.wire;
  const reference = pbfUnchecked(wire);
  let head: QueryResult | undefined;
  let first: QueryResult;
  try {
    head = await (ctx.firstPage ?? firstPageQuery(ctx, where, byOid));
    first = head;
    if (reference) wire.reference ??= head.features;
  } catch (error) {
    if (!isQueryFailure(error)) throw refusal(error, 'resultOffset paging');
    first = await ask(0, 2);
  }
  // an invalid OID is the server's data, not a refusal of paging: INVALID_RESPONSE as it is
  const a = rawOids(first.features, oid);
  if (byOid) {
    // every new OID above the one before (a repeat is dropped downstream, not an order problem)
    const seen = new Set<number>();
    let previous = Number.NEGATIVE_INFINITY;
    for (const id of a) {
      if (seen.has(id)) continue;
      if (id < previous) {
        throw ignoredOrderError(
          oid,
          `ordered by ${oid} ASC, offset 0 answered OID ${previous} before OID ${id}`,
          head,
        );
      }
      seen.add(id);
      previous = id;
    }
  }
  // The first page holds the whole query: nothing is paged, so offsets need no check (and no pbf is
  // used: the page came in f=json). A small layer costs the count and this page, one round trip.
  if (head !== undefined && !head.exceededTransferLimit && head.features.length >= ctx.expected) {
    return { head };
  }
  if (a.length < 2) return { head }; // too few features to tell; the page guards still apply
  if (byOid && a[0]! >= a[1]!) {
    throw ignoredOrderError(
      oid,
      `ordered by ${oid} ASC, offset 0 answered OID ${a[0]} before OID ${a[1]}`,
      head,
    );
  }
  // in the wire format while the pbf is unchecked: checked against the first page's f=json
  const full = reference && head !== undefined;
  const check = ask(1, 1, full).then(({ features }) => {
    const b = rawOids(features, oid);
    if (b.length < 1 || b[0] === a[1]) return;
    if (b[0] === a[0]) throw ignoredOffsetError(`offset 1 answered OID ${b[0]}, the first one again`);
    throw unstableOrderError(`offset 1 answered OID ${b[0]}, but offset 0 answered ${a[0]}, ${a[1]}`);
  });
  check.catch(() => undefined); // awaited before the first page is written
  // the pages' pbf answers wait for this one's check against the first page (no request of their own)
  if (full) {
    const settled = () => {
      if (wire.checking === checking) wire.checking = undefined;
    };
    const checking = check.then(settled, settled);
    wire.checking = checking;
  }
  return { head, check };
}

/**
 * The probe's first query: the query's first page (offset 0, a full page of the export's fields;
 * in f=json while the server's pbf is not yet trusted, as the reference to check it against).
 */
function firstPageQuery(ctx: QueryContext, where: string, byOid: boolean): Promise<QueryResult> {
  const wire = ctx.wire;
  return runQuery(
    ctx,
    {
      ...featureParams(ctx, where),
      ...(byOid ? { orderByFields: `${ctx.layer.oidField} ASC` } : {}),
      resultOffset: 0,
      resultRecordCount: Math.max(2, ctx.pageSize),
    },
    { json: pbfUnchecked(wire) },
  );
}

/**
 * Starts offset's first query before the count is known, so that the count and the first page
 * share one round trip (`ctx.firstPage` of the probe). Only for a whole query (not a resume).
 */
export function startFirstPage(ctx: QueryContext): Promise<QueryResult> | undefined {
  if (!ctx.layer.supportsPagination || ctx.after !== undefined) return undefined;
  const where = buildWhere({ userWhere: ctx.userWhere, oidField: ctx.layer.oidField, after: undefined });
  const started = firstPageQuery(ctx, where, true);
  // awaited by the probe; unused (a count of 0 or 1 with no page to take, a failed count) it is dropped
  started.catch(() => undefined);
  return started;
}

interface OffsetTask {
  offset: number;
  count: number;
}

async function* offsetPages(
  ctx: QueryContext,
  where: string,
  byOid: boolean,
  head: QueryResult | undefined,
  check: Promise<void> | undefined,
): AsyncGenerator<EsriFeature[], void, undefined> {
  const oidField = ctx.layer.oidField;
  /** Shrinks to what the server really gives when it caps its pages without saying so. */
  let pageSize = ctx.pageSize;

  const learnCap = (n: number): void => {
    if (n <= 0 || n >= pageSize) return;
    pageSize = n;
    ctx.emit?.({
      type: 'warning',
      message: `the server returns at most ${n} features per page without exceededTransferLimit; paging by ${n}`,
    });
  };

  /** `first`: the answer at `offset` already fetched (the probe's first page). */
  const fetchSpan = async (
    offset: number,
    count: number,
    signal: AbortSignal,
    first?: QueryResult,
  ): Promise<EsriFeature[]> => {
    const out: EsriFeature[] = [];
    let got = 0;
    let empty = 0;
    let previous = Number.NEGATIVE_INFINITY;
    const inSpan = new Set<number>();
    let pending = first;
    while (got < count) {
      if (signal.aborted) throw signal.reason;
      const at = offset + got;
      let result: QueryResult;
      try {
        result =
          pending ??
          (await runQuery(ctx, {
            ...featureParams(ctx, where),
            resultOffset: at,
            resultRecordCount: count - got,
            ...(byOid ? { orderByFields: `${oidField} ASC` } : {}),
          }));
        pending = undefined;
      } catch (error) {
        if (!isQueryFailure(error)) throw error;
        const rest = count - got;
        if (rest <= 1) throw unsplittableError(`The feature at offset ${at}`, error);
        const half = Math.ceil(rest / 2);
        out.push(...(await fetchSpan(at, half, signal)));
        out.push(...(await fetchSpan(at + half, rest - half, signal)));
        return out;
      }
      const n = result.features.length;
      if (byOid) {
        // the server's own order, before anything sorts it: every new OID above the one before
        for (const oid of rawOids(result.features, oidField)) {
          if (inSpan.has(oid)) continue; // a repeat: dropped downstream, not an order problem
          if (oid <= previous) {
            throw ignoredOrderError(
              oidField,
              `the page at offset ${at} answered OID ${oid} after OID ${previous}`,
            );
          }
          inSpan.add(oid);
          previous = oid;
        }
      }
      out.push(...result.features);
      got += n;
      if (result.exceededTransferLimit) {
        if (n === 0 && ++empty >= MAX_EMPTY_CONTINUATIONS) {
          throw new EtlError(
            'EXTRACTION_INCOMPLETE',
            `The server keeps answering empty pages with exceededTransferLimit at offset ${at}`,
          );
        }
        continue;
      }
      // No flag: the end of the data, unless the count says more remain.
      if (offset + got >= ctx.expected) break;
      if (n === 0) {
        throw fallbackError(
          'EXTRACTION_INCOMPLETE',
          `Got ${offset + got} features and then an empty page at offset ${at}, although the layer counts ${ctx.expected} for this query: the server honours resultOffset only up to a depth`,
        );
      }
      learnCap(n); // a short page, unflagged, while more remain: a silent cap
    }
    return out;
  };

  function* tasks(): Generator<OffsetTask> {
    for (let offset = 0; offset < ctx.expected; ) {
      const count = pageSize;
      yield { offset, count };
      offset += count;
    }
  }

  // Guards across pages, on the OIDs the server answered: a page may repeat only the extra rows
  // of the page before (maxRecordCount + 1); ordered by OID, its new OIDs come after the last one.
  // (ordered by OID, the OIDs answered so far are exactly those ≤ lastOid: no set is needed)
  const streamed = byOid ? undefined : new OidSet();
  const seen = (oid: number): boolean => (streamed ? streamed.has(oid) : oid <= lastOid);
  let firstOid: number | undefined;
  let lastOid = Number.NEGATIVE_INFINITY;
  let allowance = 0;
  // While the first pbf page is still to be checked against the probe's f=json answer (which holds
  // the first features), the page at offset 0 goes alone: the check then needs no request of its own.
  const wire = ctx.wire;
  const checkFirst = head === undefined && pbfUnchecked(wire) && wire.reference !== undefined;
  let first: Promise<unknown> | undefined;
  const pages = orderedPool(
    tasks(),
    async (task, signal) => {
      if (checkFirst && task.offset === 0) {
        const fetched = fetchSpan(task.offset, task.count, signal);
        first = fetched.catch(() => undefined);
        return { task, features: await fetched };
      }
      if (first && pbfUnchecked(wire)) await first;
      const given = task.offset === 0 ? head : undefined;
      if (given) head = undefined; // not held for the rest of the extraction
      return { task, features: await fetchSpan(task.offset, task.count, signal, given) };
    },
    { ...poolConcurrency(ctx.concurrency), signal: ctx.signal, budget: taggedPageBudget(ctx.pageBudget) },
  );
  for await (const { task, features } of pages) {
    // the probe's offset check, made while the first pages were fetched: nothing is written before it
    if (check) {
      await check;
      check = undefined;
    }
    const oids = rawOids(features, oidField);
    const repeated = oids.filter(seen);
    if (repeated.length > allowance) {
      const at = `the page at offset ${task.offset}`;
      if (oids[0] === firstOid) {
        throw ignoredOffsetError(
          `${at} repeats ${repeated.length} features already written, up to OID ${lastOid}`,
        );
      }
      if (byOid) {
        throw ignoredOrderError(
          oidField,
          `${at} answers ${repeated.length} OIDs at or below OID ${lastOid}, already written`,
        );
      }
      throw unstableOrderError(`${at} repeats ${repeated.length} features already written`);
    }
    // maxRecordCount + 1 rows: the extra rows belong to the next page, which repeats them; the
    // extraction drops (and counts) the repeated ones.
    allowance = Math.max(0, features.length - task.count);
    for (const oid of oids) {
      firstOid ??= oid;
      streamed?.add(oid);
      if (oid > lastOid) lastOid = oid;
    }
    yield byOid ? orderPage(features, oidField).features : features;
  }
}
