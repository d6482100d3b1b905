/**
 * A page cap the server does not flag: one OID-only query over everything the strategy will fetch.
 * Fewer distinct rows than the count, and no exceededTransferLimit, is a silent cap; strategies
 * that cannot see truncation otherwise (OID ranges, envelope cells) split an answer that large.
 */
import { isQueryFailure, runQuery } from './query.js';
import { filterParams } from './spatial-filter.js';
import { refusal } from './strategies/refusal.js';
import type { QueryContext } from './strategies/types.js';
import { fallbackError } from './strategy-errors.js';

/**
 * The most rows the server returns per query when it cuts answers short without exceededTransferLimit
 * (undefined when it flags them, or when one answer holds everything).
 */
export async function silentCap(ctx: QueryContext, where: string, what: string): Promise<number | undefined> {
  if (ctx.expected <= 1) return undefined;
  const oid = ctx.layer.oidField;
  let result: Awaited<ReturnType<typeof runQuery>>;
  try {
    result = await runQuery(ctx, {
      where,
      ...filterParams(ctx.filter),
      outFields: oid,
      returnGeometry: false,
    });
  } catch (error) {
    // a server that fails big queries: the ranges split on failures anyway; the end count checks
    if (isQueryFailure(error)) return undefined;
    throw refusal(error, 'an OID-only query');
  }
  const n = new Set(result.features.map((f) => f.attributes?.[oid])).size;
  if (result.exceededTransferLimit || n >= ctx.expected) return undefined;
  if (n === 0) {
    throw fallbackError(
      'EXTRACTION_INCOMPLETE',
      `The query counts ${ctx.expected} features but answered none`,
    );
  }
  ctx.emit?.({
    type: 'warning',
    message: `the server returns at most ${n} features per query without exceededTransferLimit; ${what} answering ${n} are split`,
  });
  return n;
}
