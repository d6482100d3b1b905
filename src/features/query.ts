/**
 * One feature query (`{layer}/query`, POST), with the page-level retry rule: a query that keeps
 * failing with 500 "Error performing query operation" is retried `pageRetries` times, then the caller
 * splits it.
 *
 * Wire format: `f=pbf` (Esri's FeatureCollection protocol buffers: about 2.4 times fewer bytes than
 * Esri JSON, and faster to decode) while the extraction's `WireState` says so, else `f=json`. Under
 * `auto`, a pbf answer that cannot be used (a 400 refusing the format, an undecodable body, a
 * compressed shape buffer or true curves) or that disagrees with the server's f=json (checked once,
 * on the first page) is asked again as JSON, and the whole extraction stays on JSON.
 */
import { EtlError, isEtlError } from '../core/errors.js';
import type { EsriFeature } from '../core/protocol.js';
import type { ConcurrencySample } from '../http/concurrency.js';
import type { BinaryOrJson, Params } from '../http/types.js';
import { featureJsonParser } from './big-integers.js';
import { geometryParams } from './geometry-options.js';
import type { LayerInfo } from './metadata.js';
import { afterDispatch } from './ordered-pool.js';
import { checkPbfWhole, decodeQueryPbf } from './pbf-decode.js';
import { type PbfSample, verifyAgainst, verifyPbfPage } from './pbf-verify.js';
import { filterParams } from './spatial-filter.js';
import type { QueryContext } from './strategies/types.js';

/** `auto`: pbf for a layer that lists it in supportedQueryFormats, falling back to json. */
export type QueryFormat = 'auto' | 'json' | 'pbf';
export const QUERY_FORMATS: readonly QueryFormat[] = ['auto', 'json', 'pbf'];

/** The wire format of an extraction's feature queries, shared (and switched) by all of them. */
export interface WireState {
  pbf: boolean;
  /** `pbf` was asked for explicitly: no fallback to JSON. */
  readonly forced: boolean;
  /**
   * The check of the first non-empty pbf page against f=json (pbf-verify.ts), shared by the queries
   * in flight: true when the server's pbf can be trusted. Undefined until a page is checked.
   */
  trusted?: Promise<boolean> | undefined;
  /**
   * f=json features of the export's own query fetched already (the offset probe's first answer):
   * the first pbf page is checked against those it holds, with no request of its own.
   */
  reference?: readonly EsriFeature[] | undefined;
  /**
   * Settles when a pbf answer that `reference` holds (the offset probe's, in flight beside the
   * first pages) has been checked, and is cleared then: pages the reference cannot check wait for
   * it, rather than each sending a request of its own.
   */
  checking?: Promise<void> | undefined;
}

/** The extraction asks for pbf, and no pbf page has been checked against f=json yet. */
export function pbfUnchecked(wire: WireState | undefined): wire is WireState {
  return wire?.pbf === true && wire.trusted === undefined;
}

/**
 * `auto` takes pbf for layers that list it, with Z and M too (z and m are absolute values, checked
 * against ArcGIS recordings and Esri's own decoder); the first pbf page is checked against f=json
 * before any is used (see `trusted`). `pbf` forces it: no fallback.
 */
export function initialWire(choice: QueryFormat | undefined, layer: LayerInfo): WireState {
  if (choice === 'pbf') return { pbf: true, forced: true };
  if (choice === 'json') return { pbf: false, forced: false };
  const listed = layer.supportedQueryFormats.some((f) => f.toLowerCase() === 'pbf');
  return { pbf: listed, forced: false };
}

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
    ...filterParams(ctx.filter),
    outFields: ctx.outFields,
    ...geometryParams(ctx.geometry),
    ...(ctx.outSR === undefined ? {} : { outSR: ctx.outSR }),
    ...(ctx.layer.hasZ ? { returnZ: true } : {}),
  };
}

/** BigInteger fields beyond 2^53 parsed exactly (big-integers.ts); nothing for other layers. */
export function jsonParseOption(ctx: QueryContext): { parseJson?: (text: string) => unknown } {
  const parseJson = featureJsonParser(ctx.layer.fields);
  return parseJson ? { parseJson } : {};
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

/**
 * Runs a feature query, retrying query failures `ctx.pageRetries` times; other errors pass through.
 * `json`: in f=json whatever the extraction's wire format.
 */
export function runQuery(
  ctx: QueryContext,
  params: Params,
  options: { json?: boolean } = {},
): Promise<QueryResult> {
  return retryQueryFailures(
    () => queryOnce(ctx, params, options.json === true),
    ctx.pageRetries,
    (error) =>
      ctx.emit?.({ type: 'warning', message: `query failed (${(error as Error).message}); retrying` }),
  );
}

/**
 * Under an adaptive limit, a request takes a slot of the host and reports its latency and features:
 * the request only, not the check of its pbf that may follow (a page waiting for another page's
 * check must not hold a slot that check needs, nor count the wait as the server's latency). `run`
 * calls `arrived` once the answer is in and only the client's work on it is left (decoding a pbf
 * page): the slot goes back to the server then, and a request waiting for it goes out before that
 * work starts.
 */
async function measured<R extends QueryResult>(
  ctx: QueryContext,
  run: (arrived: () => Promise<void>) => Promise<R>,
): Promise<R> {
  if (typeof ctx.concurrency === 'number') return run(async () => {});
  let sample: ConcurrencySample;
  try {
    sample = await ctx.concurrency.acquire(ctx.signal);
  } catch (error) {
    throw new EtlError('ABORTED', `Query aborted: ${ctx.layer.url}/query`, { cause: error });
  }
  let features: number | undefined;
  try {
    const result = await run(async () => {
      if (sample.arrived()) await afterDispatch();
    });
    features = result.features.length;
    return result;
  } finally {
    sample.end({ features, ok: features !== undefined });
  }
}

async function queryOnce(ctx: QueryContext, params: Params, json: boolean): Promise<QueryResult> {
  const wire = ctx.wire;
  if (wire?.pbf && !json) {
    try {
      const result = await measured(ctx, (arrived) => queryPbf(ctx, params, wire, arrived));
      if (result.sample === undefined || (await trusted(ctx, params, wire, result.sample))) {
        return { features: result.features, exceededTransferLimit: result.exceededTransferLimit };
      }
    } catch (error) {
      if (wire.forced || !pbfUnusable(error)) throw error;
      if (wire.pbf) {
        // the first of the queries in flight to fail switches the extraction; each asks again as JSON
        wire.pbf = false;
        ctx.emit?.({ type: 'warning', message: `${unusableReason(ctx, error)}; using f=json from here on` });
      }
    }
  }
  return measured(ctx, async () => {
    const body = await ctx.client.request<Record<string, unknown>>(`${ctx.layer.url}/query`, params, {
      ...signalOption(ctx.signal),
      ...jsonParseOption(ctx),
    });
    return jsonResult(ctx, body);
  });
}

/** Why a pbf answer cannot be used: "the pbf answer is malformed: …" for an undecodable body. */
function unusableReason(ctx: QueryContext, error: unknown): string {
  const message = (error as Error).message;
  const malformed = /is malformed: (.*)$/s.exec(message);
  if (malformed) return `the pbf answer is malformed: ${malformed[1]} (${ctx.layer.url})`;
  return `the f=pbf answer of ${ctx.layer.url} cannot be used (${message})`;
}

/**
 * Whether the server's pbf can be trusted: the first non-empty pbf page is checked against f=json
 * once (pbf-verify.ts); the queries in flight meanwhile wait for that check. A disagreement switches
 * the extraction to JSON with a warning saying why (forced pbf: an error), and every page not yet
 * taken is asked again as JSON.
 */
function trusted(ctx: QueryContext, params: Params, wire: WireState, sample: PbfSample): Promise<boolean> {
  // Nothing to check yet: an empty page, or a probe's (object ids only, no geometry). Only pages of
  // the export's own query (its fields, with geometry) are checked, and none is taken unchecked.
  const noGeometry = ctx.geometry?.returnGeometry === false;
  const probe = params.outFields !== ctx.outFields || (params.returnGeometry === false && !noGeometry);
  if (wire.trusted === undefined && (sample.features.length === 0 || probe)) return Promise.resolve(true);
  // against JSON features already fetched when the page holds some (no request), else by a request
  const local = wire.reference ? verifyAgainst(wire.reference, sample, ctx.layer.oidField) : null;
  const pending = wire.checking;
  if (wire.trusted === undefined && local === null && pending !== undefined) {
    // a page the reference holds is on its way: its check decides for this one too
    return pending.then(() => trusted(ctx, params, wire, sample));
  }
  wire.trusted ??= (local === null ? verifyPbfPage(ctx, params, sample) : Promise.resolve(local)).then(
    (why) => {
      if (why === undefined) return true;
      if (wire.forced) {
        throw new EtlError('INVALID_RESPONSE', `${why}: its f=pbf cannot be trusted; export with f=json`, {
          url: `${ctx.layer.url}/query`,
        });
      }
      if (wire.pbf) {
        wire.pbf = false;
        ctx.emit?.({ type: 'warning', message: `${why}; using f=json from here on` });
      }
      return false;
    },
    (error: unknown) => {
      wire.trusted = undefined; // not checked: the next pbf page tries again
      throw error;
    },
  );
  return wire.trusted;
}

/**
 * A pbf page. The transport checks only that the answer is whole (a cut body is asked again there);
 * it is decoded after `arrived`, off the server's slot.
 */
async function queryPbf(
  ctx: QueryContext,
  params: Params,
  wire: WireState,
  arrived: () => Promise<void>,
): Promise<QueryResult & { sample?: PbfSample }> {
  const answer = await ctx.client.request<BinaryOrJson<Uint8Array>>(
    `${ctx.layer.url}/query`,
    { ...params, f: 'pbf' },
    {
      ...signalOption(ctx.signal),
      ...jsonParseOption(ctx),
      responseType: 'binary',
      decodeBinary: (bytes) => {
        checkPbfWhole(bytes);
        return bytes;
      },
    },
  );
  await arrived();
  if (answer.kind === 'json') {
    // a server that ignores f=pbf: take its JSON, and ask for JSON from now on
    if (!wire.forced) wire.pbf = false;
    return jsonResult(ctx, answer.value as Record<string, unknown> | undefined);
  }
  const result = decodeQueryPbf(answer.value);
  if (result.kind !== 'features') {
    throw new EtlError('INVALID_RESPONSE', `The pbf query answer of ${ctx.layer.url} holds no features`, {
      url: `${ctx.layer.url}/query`,
    });
  }
  return { features: result.features, exceededTransferLimit: result.exceededTransferLimit, sample: result };
}

/** Errors of a pbf query that JSON may not have: a refused format, an unreadable or unsupported body. */
function pbfUnusable(error: unknown): boolean {
  let e: unknown = error;
  if (isEtlError(e, 'RETRIES_EXHAUSTED')) e = e.cause;
  if (!isEtlError(e)) return false;
  switch (e.code) {
    case 'UNSUPPORTED_GEOMETRY':
    case 'INVALID_RESPONSE':
    case 'TRUNCATED_RESPONSE':
      return true;
    case 'ARCGIS_ERROR':
    case 'HTTP_ERROR':
      return e.arcgisCode === 400 || e.status === 400;
    default:
      return false;
  }
}

function jsonResult(ctx: QueryContext, body: Record<string, unknown> | undefined): QueryResult {
  const features = body?.features;
  if (!body || !Array.isArray(features)) {
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
