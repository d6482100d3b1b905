/**
 * The extraction loop: picks a strategy (or tries them in order for `auto`), applies the
 * duplicate guards, and checks the end count. Pages are yielded in output order; nothing is
 * ever silently truncated.
 */
import type { ArcGISClient } from '../client/arcgis-client.js';
import { EtlError } from '../core/errors.js';
import type { Emit } from '../core/events.js';
import type { EsriFeature } from '../core/protocol.js';
import { extractionConcurrency } from './concurrency.js';
import type { LayerInfo } from './metadata.js';
import { featureOid } from './oid.js';
import { OidSet } from './oid-set.js';
import { initialWire, type QueryFormat } from './query.js';
import { envelopeStrategy } from './strategies/envelope.js';
import { idsStrategy } from './strategies/ids.js';
import { offsetStrategy } from './strategies/offset.js';
import { oidRangeStrategy } from './strategies/oid-range.js';
import type { PreparedStrategy, QueryContext, Strategy, StrategyName } from './strategies/types.js';
import { STRATEGY_ORDER } from './strategies/types.js';
import { isFallbackError } from './strategy-errors.js';
import { buildWhere, validateFieldName } from './where.js';

export type StrategyChoice = 'auto' | StrategyName;

export const STRATEGIES: Readonly<Record<StrategyName, Strategy>> = {
  offset: offsetStrategy,
  ids: idsStrategy,
  'oid-range': oidRangeStrategy,
  envelope: envelopeStrategy,
};

export { DEFAULT_CONCURRENCY } from './concurrency.js';
export const DEFAULT_PAGE_RETRIES = 2;

export interface ExtractOptions {
  client: ArcGISClient;
  layer: LayerInfo;
  where?: string | undefined;
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
  /** Only features with OID > after (resume). */
  after?: number | undefined;
  /** Extra attempts for a query failing with 500 before it is split (default 2). */
  pageRetries?: number | undefined;
  /** Only strategies whose output is in OID order (resumable): never the envelope quadtree. */
  requireOrdered?: boolean | undefined;
  /** Wire format of feature queries (default `auto`: pbf when a 2D layer lists it, else json). */
  queryFormat?: QueryFormat | undefined;
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
  /** returnCountOnly for the where clause (and `after`). */
  expected: number;
  /** The strategy that produced the last pages (undefined before one is chosen). */
  strategy: StrategyName | undefined;
  /** Strategies tried and why they were left. */
  fallbacks: string[];
  /** Features dropped as duplicates (extra rows, repeated OIDs). */
  duplicatesDropped: number;
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
    queryFormat: undefined,
  };

  constructor(options: ExtractOptions) {
    this.options = options;
  }

  /** The OID field and the outFields parameter. */
  get outFields(): string {
    return resolveOutFields(this.options.layer, this.options.fields);
  }

  async *pages(): AsyncGenerator<ExtractedPage, void, undefined> {
    const o = this.options;
    const layer = o.layer;
    const choice = o.strategy ?? 'auto';
    if (choice !== 'auto' && !(choice in STRATEGIES)) {
      throw new EtlError(
        'USAGE',
        `Unknown strategy ${JSON.stringify(choice)} (use auto, ${STRATEGY_ORDER.join(', ')})`,
      );
    }
    if (o.requireOrdered && choice === 'envelope') {
      throw new EtlError('USAGE', 'The envelope strategy cannot be resumed (its output is not in OID order)');
    }
    const candidates =
      choice === 'auto' ? STRATEGY_ORDER.filter((s) => !o.requireOrdered || s !== 'envelope') : [choice];
    let after = o.after;
    const where = o.where?.trim() || undefined;
    const total = await layer.count(buildWhere({ userWhere: where, oidField: layer.oidField, after }), {
      signal: o.signal,
    });
    this.summary.expected = total;
    const base = {
      client: o.client,
      layer,
      userWhere: where,
      outFields: this.outFields,
      outSR: o.outSR === null ? undefined : String(o.outSR ?? 4326),
      pageSize: Math.max(1, Math.min(Math.floor(o.pageSize ?? layer.maxRecordCount), layer.maxRecordCount)),
      concurrency: extractionConcurrency(o.client, layer.url, o),
      pageRetries: Math.max(0, Math.floor(o.pageRetries ?? DEFAULT_PAGE_RETRIES)),
      signal: o.signal,
      emit: o.emit,
      wire: initialWire(o.queryFormat, layer),
    };
    let lastOid = after ?? Number.NEGATIVE_INFINITY;
    let ordered = true;
    let seen: OidSet | undefined;

    for (let i = 0; i < candidates.length; i++) {
      const name = candidates[i]!;
      const remaining =
        after === o.after
          ? total
          : await layer.count(buildWhere({ userWhere: where, oidField: layer.oidField, after }), {
              signal: o.signal,
            });
      const ctx: QueryContext = { ...base, after, expected: remaining };
      let prepared: PreparedStrategy;
      try {
        prepared = await STRATEGIES[name].prepare(ctx);
      } catch (error) {
        if (!isFallbackError(error) || choice !== 'auto') throw error;
        this.#fallback(name, error);
        continue;
      }
      this.summary.strategy = name;
      if (!prepared.ordered) {
        ordered = false;
        seen ??= new OidSet();
      }
      try {
        for await (const raw of prepared.pages()) {
          const page = this.#guard(raw, ordered, lastOid, seen);
          if (page.features.length === 0) continue; // an empty range or cell
          if (ordered && page.oids.length > 0) lastOid = page.oids[page.oids.length - 1]!;
          else if (seen) for (const oid of page.oids) seen.add(oid);
          this.summary.features += page.features.length;
          this.summary.pages++;
          this.summary.queryFormat = base.wire.pbf ? 'pbf' : 'json';
          o.emit?.({
            type: 'page.fetched',
            page: this.summary.pages,
            features: page.features.length,
            strategy: name,
          });
          yield { ...page, strategy: name, ordered, page: this.summary.pages };
        }
      } catch (error) {
        // An ordered strategy failing its guard mid-way: `auto` continues with the next one after the
        // last written OID, so nothing written is fetched again and nothing is duplicated.
        const canContinue =
          choice === 'auto' && prepared.ordered && isFallbackError(error) && i + 1 < candidates.length;
        if (!canContinue) throw error;
        this.#fallback(name, error as EtlError);
        if (Number.isFinite(lastOid)) after = lastOid;
        continue;
      }
      this.#checkCount();
      return;
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

  #guard(
    features: readonly EsriFeature[],
    ordered: boolean,
    lastOid: number,
    seen: OidSet | undefined,
  ): { features: EsriFeature[]; oids: number[] } {
    const oidField = this.options.layer.oidField;
    const out: { features: EsriFeature[]; oids: number[] } = { features: [], oids: [] };
    let previous = lastOid;
    const local = ordered ? undefined : new Set<number>();
    for (const feature of features) {
      const oid = featureOid(feature.attributes ?? {}, oidField);
      const duplicate = ordered ? oid <= previous : seen!.has(oid) || local!.has(oid);
      if (duplicate) {
        this.summary.duplicatesDropped++;
        continue;
      }
      if (ordered) previous = oid;
      else local!.add(oid);
      out.features.push(feature);
      out.oids.push(oid);
    }
    return out;
  }

  #checkCount(): void {
    const { features, expected } = this.summary;
    if (features !== expected) {
      throw new EtlError(
        'EXTRACTION_INCOMPLETE',
        `Extracted ${features} features but the layer counts ${expected} for this query (strategy ${this.summary.strategy}); the output is incomplete`,
        { url: this.options.layer.url },
      );
    }
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
