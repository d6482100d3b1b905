import type { ArcGISClient } from '../../client/arcgis-client.js';
import type { Emit } from '../../core/events.js';
import type { EsriFeature } from '../../core/protocol.js';
import type { ConcurrencyController } from '../../http/concurrency.js';
import type { GeometryOptions } from '../geometry-options.js';
import type { LayerInfo } from '../metadata.js';
import type { OidSet } from '../oid-set.js';
import type { QueryResult, WireState } from '../query.js';
import type { SpatialFilter } from '../spatial-filter.js';

export type StrategyName = 'offset' | 'ids' | 'oid-range' | 'server-order' | 'envelope' | 'order-by';
/** The order `auto` tries them in: OID-ordered (resumable) strategies first. */
export const STRATEGY_ORDER: readonly StrategyName[] = [
  'offset',
  'ids',
  'oid-range',
  'server-order',
  'envelope',
];

/** What every strategy needs to query a layer. */
export interface QueryContext {
  client: ArcGISClient;
  layer: LayerInfo;
  /** The user's where clause (undefined = everything). */
  userWhere: string | undefined;
  /** The spatial filter every query carries (undefined = none). */
  filter?: SpatialFilter | undefined;
  /** returnGeometry, geometryPrecision, maxAllowableOffset of feature queries (default: geometry as stored). */
  geometry?: GeometryOptions | undefined;
  /** Only OIDs greater than this (resume, or a fallback after pages were written). */
  after: number | undefined;
  /** `outFields`, always including the OID field. */
  outFields: string;
  /** `outSR` (wkid or JSON); undefined = the layer's own. */
  outSR: string | undefined;
  /** Effective page size: min(requested, maxRecordCount). */
  pageSize: number;
  /** Pages at once: a number, or the host's adaptive controller (queries then take a slot each). */
  concurrency: number | ConcurrencyController;
  /**
   * Bytes the pages fetched ahead of the writer may hold (estimated, page-weight.ts): no page
   * request starts while they would weigh more (default 64 MB).
   */
  pageBudget?: number | undefined;
  /** Extra attempts for a query failing with 500 "Error performing query operation" before it is split. */
  pageRetries: number;
  /** Features expected for (userWhere, after), from returnCountOnly. */
  expected: number;
  signal: AbortSignal | undefined;
  emit: Emit | undefined;
  /** Feature queries in f=pbf or f=json (absent: json). Shared by every query of an extraction. */
  wire?: WireState | undefined;
  /**
   * OIDs this run has written so far (kept up to date by the extraction between two pages): the
   * envelope strategy fetches by id what no envelope returned.
   */
  written?: OidSet | undefined;
  /** `--order-by`: the order of the output (the order-by strategy; no other strategy reads it). */
  orderBy?: { field: string; desc?: boolean | undefined } | undefined;
  /**
   * The first page of this query (offset 0, a full page, in the server's own order) that offset's
   * probe fetched before it found that the server ignores orderByFields: `auto` promotes
   * `server-order`, which starts from it and skips its probe (its page guards, the OID set and the
   * end count still apply).
   */
  head?: QueryResult | undefined;
  /**
   * offset's first query (the query's first page, ordered by OID), started by the extraction
   * beside its count: the probe awaits it instead of asking it again.
   */
  firstPage?: Promise<QueryResult> | undefined;
}

/** A strategy made ready by its probe: nothing has been written yet. */
export interface PreparedStrategy {
  readonly name: StrategyName;
  /** Pages come in OID order (offset, ids, oid-range): output can be checked monotonic and resumed. */
  readonly ordered: boolean;
  /** Pages of Esri features, in output order. */
  pages(): AsyncGenerator<EsriFeature[], void, undefined>;
  /** The sorted id list the strategy fetched (returnIdsOnly): the output is checked against it. */
  readonly ids?: Float64Array | undefined;
}

export interface Strategy {
  readonly name: StrategyName;
  /**
   * Probes the server. Throws a fallback error (see errors.ts) when the strategy is not supported
   * or its guard fails, so that `auto` can try the next one.
   */
  prepare(ctx: QueryContext): Promise<PreparedStrategy>;
}
