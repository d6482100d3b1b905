/**
 * One feature query (`{layer}/query`, f=json, POST), with the page-level retry rule: a query that keeps
 * failing with 500 "Error performing query operation" is retried `pageRetries` times, then the caller
 * splits it.
 */
import { EtlError, isEtlError } from '../core/errors.js';
import type { EsriFeature } from '../core/protocol.js';
import type { Params } from '../http/types.js';
import type { QueryContext } from './strategies/types.js';

export interface QueryResult {
  features: EsriFeature[];
  exceededTransferLimit: boolean;
}

/** True for a server-side query failure worth splitting: ArcGIS 500 (envelope or HTTP), also after retries. */
export function isQueryFailure(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (!isEtlError(e)) return false;
    if (e.code === 'ARCGIS_ERROR' && (e.arcgisCode === 500 || e.status === 500)) return true;
    if (e.code === 'HTTP_ERROR' && e.status === 500) return true;
    if (e.code === 'RETRIES_EXHAUSTED' && e.status === 500) return true;
    if (e.code !== 'RETRIES_EXHAUSTED') return false;
  }
  return false;
}

/** Base parameters of a feature query. */
export function featureParams(ctx: QueryContext, where: string): Params {
  return {
    where,
    outFields: ctx.outFields,
    returnGeometry: true,
    ...(ctx.outSR === undefined ? {} : { outSR: ctx.outSR }),
    ...(ctx.layer.hasZ ? { returnZ: true } : {}),
  };
}

export function signalOption(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}

/** Runs `fn`, repeating it `retries` times more when it fails with a query failure (500). */
export async function retryQueryFailures<T>(
  fn: () => Promise<T>,
  retries: number,
  onRetry?: (error: unknown) => void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isQueryFailure(error) || attempt >= retries) throw error;
      onRetry?.(error);
    }
  }
}

/** Runs a feature query, retrying query failures `ctx.pageRetries` times; other errors pass through. */
export function runQuery(ctx: QueryContext, params: Params): Promise<QueryResult> {
  return retryQueryFailures(
    () => queryOnce(ctx, params),
    ctx.pageRetries,
    (error) =>
      ctx.emit?.({ type: 'warning', message: `query failed (${(error as Error).message}); retrying` }),
  );
}

async function queryOnce(ctx: QueryContext, params: Params): Promise<QueryResult> {
  const body = await ctx.client.request<Record<string, unknown>>(
    `${ctx.layer.url}/query`,
    params,
    signalOption(ctx.signal),
  );
  const features = body?.features;
  if (!Array.isArray(features)) {
    throw new EtlError('INVALID_RESPONSE', `The query answer of ${ctx.layer.url} has no features array`, {
      url: `${ctx.layer.url}/query`,
    });
  }
  const exceeded =
    body.exceededTransferLimit === true ||
    (body.properties as { exceededTransferLimit?: unknown } | undefined)?.exceededTransferLimit === true;
  return { features: features as EsriFeature[], exceededTransferLimit: exceeded };
}

/** The error for a single feature (or cell) that fails even alone. */
export function unsplittableError(what: string, error: unknown): EtlError {
  return new EtlError(
    'EXTRACTION_INCOMPLETE',
    `${what} keeps failing with "Error performing query operation" even alone; it cannot be exported (${(error as Error).message})`,
    { cause: error },
  );
}
