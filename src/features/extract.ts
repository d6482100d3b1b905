/**
 * The extraction loop: picks a strategy (or tries them in order for `auto`), drops repeats by OID
 * (every OID written is kept in an OidSet), and checks the end: the whole output against the count
 * of the whole query, and against the id list where one was fetched. Nothing the server says is
 * trusted: a strategy left mid-way hands over after its last OID only when the server counts exactly
 * the features written up to it; otherwise the next one starts over and its repeats are dropped.
 */
import type { ArcGISClient } from '../client/arcgis-client.js';
import { reserveAbortListeners } from '../core/abort-listeners.js';
import { EtlError } from '../core/errors.js';
import type { Emit } from '../core/events.js';
import type { EsriFeature } from '../core/protocol.js';
import { extractionConcurrency, waitersAtMost } from './concurrency.js';
import type { GeometryOptions } from './geometry-options.js';
import type { LayerInfo } from './metadata.js';
import { featureOid } from './oid.js';
import { OidSet } from './oid-set.js';
import { initialWire, type QueryFormat, type QueryResult } from './query.js';
import type { SpatialFilter } from './spatial-filter.js';
import { envelopeStrategy } from './strategies/envelope.js';
import { idsStrategy } from './strategies/ids.js';
import {
  ignoredOrderHead,
  isIgnoredOrderError,
  offsetStrategy,
  serverOrderStrategy,
  startFirstPage,
} from './strategies/offset.js';
import { oidRangeStrategy } from './strategies/oid-range.js';
import { type OrderBy, orderByStrategy } from './strategies/order-by.js';
import { refusal } from './strategies/refusal.js';
import type { PreparedStrategy, QueryContext, Strategy, StrategyName } from './strategies/types.js';
import { STRATEGY_ORDER } from './strategies/types.js';
import { fallbackError, isFallbackError } from './strategy-errors.js';
import { buildWhere, validateFieldName } from './where.js';

export type StrategyChoice = 'auto' | StrategyName;

export const STRATEGIES: Readonly<Record<StrategyName, Strategy>> = {
  offset: offsetStrategy,
  ids: idsStrategy,
  'oid-range': oidRangeStrategy,
  'server-order': serverOrderStrategy,
  envelope: envelopeStrategy,
  'order-by': orderByStrategy,
};

/** Strategies whose output is not in OID order: they cannot be resumed. */
export const UNORDERED: readonly StrategyName[] = ['server-order', 'envelope', 'order-by'];

export { DEFAULT_CONCURRENCY } from './concurrency.js';
export const DEFAULT_PAGE_RETRIES = 2;

export interface ExtractOptions {
  client: ArcGISClient;
  layer: LayerInfo;
  where?: string | undefined;
  /**
   * A spatial filter carried by every query (counts, ids, probes, pages). Its `exact` test, when it
   * has one, drops the features answered that do not intersect the filter itself.
   */
  filter?: SpatialFilter | undefined;
  /** returnGeometry, geometryPrecision and maxAllowableOffset of feature queries. */
  geometry?: GeometryOptions | undefined;
  /** Fields to return (validated against the layer); the OID field is always queried. Default all. */
  fields?: readonly string[] | undefined;
  /** Output spatial reference (wkid); default 4326. `null` keeps the layer's own. */
  outSR?: number | string | null | undefined;
  strategy?: StrategyChoice | undefined;
  /** Pins the pages fetched at once (default: adaptive, per host; see ConcurrencyController). */
  concurrency?: number | undefined;
  /** Upper bound of the adaptive concurrency (default 16). */
  maxConcurrency?: number | undefined;
  /** Features per request; capped at the layer's maxRecordCount (default). */
  pageSize?: number | undefined;
  /**
   * Bytes the pages fetched ahead of the writer may hold, estimated from their features and
   * vertices (page-weight.ts): no page request starts while they would weigh more (default 64 MB).
   */
  pageBudget?: number | undefined;
  /** Only features with OID > after (resume). */
  after?: number | undefined;
  /**
   * Features the output already holds (a resumed run: every one with OID ≤ after). Checked against
   * the server's count first; the end check covers them too.
   */
  held?: number | undefined;
  /** Extra attempts for a query failing with 500 before it is split (default 2). */
  pageRetries?: number | undefined;
  /** Only strategies whose output is in OID order (resumable): never server-order or the envelope quadtree. */
  requireOrdered?: boolean | undefined;
  /** Wire format of feature queries (default `auto`: pbf when the layer lists it and its first page agrees with json). */
  queryFormat?: QueryFormat | undefined;
  /** The output's order (only the `order-by` strategy honours it). */
  orderBy?: OrderBy | undefined;
  signal?: AbortSignal | undefined;
  emit?: Emit | undefined;
}

export interface ExtractedPage {
  features: EsriFeature[];
  /** OIDs of `features`, same order. */
  oids: number[];
  strategy: StrategyName;
  /** Whether output is in OID order so far (every page came from an ordered strategy). */
  ordered: boolean;
  /** 1-based page number. */
  page: number;
}

export interface ExtractSummary {
  features: number;
  pages: number;
  /** returnCountOnly for the where clause (and `after`). `features` is what this run wrote. */
  expected: number;
  /** The strategy that produced the last pages (undefined before one is chosen). */
  strategy: StrategyName | undefined;
  /** Strategies tried and why they were left. */
  fallbacks: string[];
  /** Features dropped as duplicates (extra rows, repeated OIDs). */
  duplicatesDropped: number;
  /** Features the server answered for a simplified filter geometry that do not intersect the filter itself. */
  outsideFilter: number;
  /** The wire format of the last feature queries (undefined before the first). */
  queryFormat: 'json' | 'pbf' | undefined;
}

export class Extraction {
  readonly options: ExtractOptions;
  readonly summary: ExtractSummary = {
    features: 0,
    pages: 0,
    expected: 0,
    strategy: undefined,
    fallbacks: [],
    duplicatesDropped: 0,
    outsideFilter: 0,
    queryFormat: undefined,
  };
  /** OIDs written by this run: repeats are dropped, a handoff restarts safely, the end is checked by id. */
  readonly #written = new OidSet();

  constructor(options: ExtractOptions) {
    this.options = options;
  }

  /** The OID field and the outFields parameter. */
  get outFields(): string {
    return resolveOutFields(this.options.layer, this.options.fields);
  }

  #count(parts: { after?: number | undefined; max?: number | undefined }): Promise<number> {
    const o = this.options;
    const where = buildWhere({
      userWhere: o.where?.trim() || undefined,
      oidField: o.layer.oidField,
      ...parts,
    });
    return o.layer.count(where, { signal: o.signal, filter: o.filter });
  }

  async *pages(): AsyncGenerator<ExtractedPage, void, undefined> {
    // each request that waits (a slot, a pause, a retry) listens to the signal meanwhile
    const release = reserveAbortListeners(this.options.signal, 2 * waitersAtMost(this.options) + 16);
    try {
      yield* this.#pages();
    } finally {
      release();
    }
  }

  async *#pages(): AsyncGenerator<ExtractedPage, void, undefined> {
    const o = this.options;
    const layer = o.layer;
    const choice = o.strategy ?? 'auto';
    if (choice !== 'auto' && !(choice in STRATEGIES)) {
      throw new EtlError(
        'USAGE',
        `Unknown strategy ${JSON.stringify(choice)} (use auto, ${STRATEGY_ORDER.join(', ')})`,
      );
    }
    if (o.requireOrdered && UNORDERED.includes(choice as StrategyName)) {
      throw new EtlError(
        'USAGE',
        `The ${choice} strategy cannot be resumed (its output is not in OID order)`,
      );
    }
    const candidates =
      choice === 'auto'
        ? STRATEGY_ORDER.filter((s) => !o.requireOrdered || !UNORDERED.includes(s))
        : [choice];
    /** Set when `auto` moved server-order up: offset's probe got its first page, so it skips its probe. */
    let promoted: QueryResult | undefined;
    const start = o.after;
    const held = Math.max(0, o.held ?? 0);
    const where = o.where?.trim() || undefined;
    const base = {
      client: o.client,
      layer,
      userWhere: where,
      filter: o.filter,
      geometry: o.geometry,
      outFields: this.outFields,
      outSR: o.outSR === null ? undefined : String(o.outSR ?? 4326),
      pageSize: Math.max(1, Math.min(Math.floor(o.pageSize ?? layer.maxRecordCount), layer.maxRecordCount)),
      concurrency: extractionConcurrency(o.client, layer.url, o),
      pageBudget: o.pageBudget,
      pageRetries: Math.max(0, Math.floor(o.pageRetries ?? DEFAULT_PAGE_RETRIES)),
      signal: o.signal,
      emit: o.emit,
      wire: initialWire(o.queryFormat, layer),
      written: this.#written,
      orderBy: o.orderBy,
    };
    // offset's first query goes out beside the count (one round trip for both, not two)
    const firstPage =
      candidates[0] === 'offset' && start === undefined
        ? startFirstPage({ ...base, after: undefined, expected: 0 })
        : undefined;
    // The whole query (a resumed part included) is what the output must hold in the end.
    const whole = await this.#count({});
    const initial = start === undefined ? whole : await this.#count({ after: start });
    if (start !== undefined && whole - initial !== held) {
      throw new EtlError(
        'CHECKPOINT_INVALID',
        `The output holds ${held} features up to OID ${start}, but the server counts ${whole - initial} there: the partial output cannot be continued`,
        { url: layer.url },
      );
    }
    this.summary.expected = initial;
    const written = this.#written;
    /** Everything written is in OID order and holds every OID in (start, lastOid]. */
    let ordered = true;
    let lastOid = start ?? Number.NEGATIVE_INFINITY;
    let after = start;
    let remaining = initial;

    /** Where the next strategy starts: after the last OID when that provably leaves nothing out, else from the start. */
    const handoff = async (): Promise<void> => {
      if (written.size === 0) return;
      if (ordered) {
        const upTo = await this.#count({ after: start, max: lastOid }).catch((error: unknown) => {
          // a server that cannot count by OID cannot vouch for the written part: start over
          if (isFallbackError(refusal(error, 'returnCountOnly by OID'))) return undefined;
          throw error;
        });
        if (upTo === written.size) {
          after = lastOid;
          remaining = await this.#count({ after });
          return;
        }
        o.emit?.({
          type: 'warning',
          message: `the ${written.size} features written up to OID ${lastOid} are not all the server counts there (${upTo ?? 'no count'}); the next strategy starts over and drops what was written`,
        });
      }
      ordered = false;
      after = start;
      remaining = initial;
    };

    for (let i = 0; i < candidates.length; i++) {
      const name = candidates[i]!;
      const more = choice === 'auto' && i + 1 < candidates.length;
      const ctx: QueryContext = {
        ...base,
        after,
        expected: remaining,
        ...(promoted && name === 'server-order' ? { head: promoted } : {}),
        ...(i === 0 && firstPage ? { firstPage } : {}),
      };
      let prepared: PreparedStrategy;
      try {
        prepared = await STRATEGIES[name].prepare(ctx);
      } catch (error) {
        if (!isFallbackError(error) || choice !== 'auto') throw error;
        this.#fallback(name, error);
        // A server that ignores orderByFields on its OID (seen by the probe, before anything was
        // written): page in its own order next (what ogr2ogr and pyesridump do), guarded by the
        // OID set and the count, rather than by id lists, which such servers answer slowly. Where
        // the output must stay in OID order (resume), server-order is not a candidate.
        if (name === 'offset' && isIgnoredOrderError(error) && written.size === 0) {
          const at = candidates.indexOf('server-order');
          if (at > i + 1) {
            candidates.splice(at, 1);
            candidates.splice(i + 1, 0, 'server-order');
            promoted = ignoredOrderHead(error);
          }
        }
        continue;
      }
      this.summary.strategy = name;
      if (!prepared.ordered) ordered = false;
      try {
        for await (const raw of prepared.pages()) {
          const page = this.#guard(raw);
          if (page.features.length === 0) continue; // an empty range or cell, or only repeats
          // a page that does not continue the OID order (whatever the strategy claims) ends it
          if (ordered && !(page.inOrder && page.oids[0]! > lastOid)) ordered = false;
          for (const oid of page.oids) written.add(oid);
          if (ordered) lastOid = page.oids[page.oids.length - 1]!;
          this.summary.features = written.size - this.summary.outsideFilter;
          this.summary.pages++;
          this.summary.queryFormat = base.wire.pbf ? 'pbf' : 'json';
          o.emit?.({
            type: 'page.fetched',
            page: this.summary.pages,
            features: page.features.length,
            strategy: name,
          });
          yield {
            features: page.features,
            oids: page.oids,
            strategy: name,
            ordered,
            page: this.summary.pages,
          };
        }
      } catch (error) {
        // A guard failing mid-way: `auto` hands over to the next strategy, which continues after the
        // last written OID when that provably leaves nothing out, else starts over and drops repeats.
        if (!more || !isFallbackError(error)) throw error;
        this.#fallback(name, error);
        await handoff();
        continue;
      }
      const short = this.#endCheck(held, whole, prepared.ids);
      if (!short) return;
      if (!more) throw short;
      this.#fallback(name, short);
      await handoff();
    }
    throw new EtlError(
      'NO_STRATEGY',
      `No extraction strategy works for ${layer.url}: ${this.summary.fallbacks.join('; ')}`,
      { url: layer.url },
    );
  }

  #fallback(name: StrategyName, error: EtlError): void {
    this.summary.fallbacks.push(`${name}: ${error.message}`);
    this.options.emit?.({ type: 'warning', message: `strategy ${name} left: ${error.message}` });
  }

  /** Drops repeats (already written, or twice in the page); says whether the rest is in OID order. */
  #guard(features: readonly EsriFeature[]): { features: EsriFeature[]; oids: number[]; inOrder: boolean } {
    const oidField = this.options.layer.oidField;
    const exact = this.options.filter?.exact;
    const out = { features: [] as EsriFeature[], oids: [] as number[], inOrder: true };
    const local = new Set<number>();
    for (const feature of features) {
      const oid = featureOid(feature.attributes ?? {}, oidField);
      if (this.#written.has(oid) || local.has(oid)) {
        this.summary.duplicatesDropped++;
        continue;
      }
      if (exact && !exact(feature)) {
        // counted by the server for the simplified geometry, outside the filter itself: seen, not written
        this.#written.add(oid);
        this.summary.outsideFilter++;
        continue;
      }
      if (out.oids.length > 0 && oid < out.oids[out.oids.length - 1]!) out.inOrder = false;
      local.add(oid);
      out.features.push(feature);
      out.oids.push(oid);
    }
    return out;
  }

  /**
   * The whole output (a resumed part included) against the count of the whole query, and against
   * the id list where one was fetched. Returns the error (a fallback for `auto`), or undefined.
   */
  #endCheck(held: number, whole: number, ids: Float64Array | undefined): EtlError | undefined {
    const total = held + this.#written.size;
    const strategy = this.summary.strategy;
    if (total !== whole) {
      return fallbackError(
        'EXTRACTION_INCOMPLETE',
        `Extracted ${total} features but the layer counts ${whole} for this query (strategy ${strategy}); the output is incomplete`,
        { url: this.options.layer.url },
      );
    }
    if (ids) {
      let missing = 0;
      for (const oid of ids) if (!this.#written.has(oid)) missing++;
      if (missing > 0) {
        return fallbackError(
          'EXTRACTION_INCOMPLETE',
          `The output misses ${missing} of the ${ids.length} object ids the server listed (strategy ${strategy}); the output is incomplete`,
          { url: this.options.layer.url },
        );
      }
    }
    return undefined;
  }
}

/** `*` or the validated field list with the OID field added. */
export function resolveOutFields(layer: LayerInfo, fields: readonly string[] | undefined): string {
  if (!fields || fields.length === 0 || fields.includes('*')) return '*';
  const names = fields.map((f) => validateFieldName(f.trim(), layer.fields));
  if (!names.includes(layer.oidField)) names.unshift(layer.oidField);
  return [...new Set(names)].join(',');
}

/** Convenience: every page of a layer query, as an async iterable. */
export function extractPages(options: ExtractOptions): AsyncGenerator<ExtractedPage, void, undefined> {
  return new Extraction(options).pages();
}
