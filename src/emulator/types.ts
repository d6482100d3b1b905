/**
 * The emulator's public options and handle, and the contract between its HTTP server
 * (src/emulator/*.ts) and its data/query engine (src/emulator/data/).
 */
import type { EsriFieldType, EsriGeometryType, LayerMetadata, SpatialReference } from '../core/protocol.js';
import type { EditingSpec } from './edits/editable-layer.js';
import type { JobOptions } from './jobs/registry.js';

export type GeneratedGeometry =
  | 'point'
  | 'multipoint'
  | 'polyline'
  | 'polygon'
  | 'multipolygon'
  | 'mixed-polygon';
export type OidMode = 'dense' | 'sparse' | 'hashed';

export interface GenerateSpec {
  count: number;
  geometry: GeneratedGeometry;
  seed?: number;
  hasZ?: boolean;
  hasM?: boolean;
  oidMode?: OidMode;
  /** First OID in dense mode (default 1). */
  firstOid?: number;
  /** Share (0..1) of the features whose geometry is null; the other rows are unchanged (default 0). */
  nullGeometries?: number;
}

export interface LayerCapabilities {
  /** advancedQueryCapabilities.supportsPagination and honoured resultOffset (default true). */
  pagination?: boolean;
  /** returnIdsOnly allowed (default true). */
  idsOnly?: boolean;
  /** outStatistics allowed (default true). */
  statistics?: boolean;
  /** f=geojson supported (default true). */
  geojson?: boolean;
  /** f=pbf (FeatureCollection protocol buffers, 10.7+ / ArcGIS Online) supported (default true). */
  pbf?: boolean;
  /** Sync (createReplica) offered; the service is sync-enabled when all its layers are (default true). */
  sync?: boolean;
}

export type PbfQuirk = 'int32';

export interface LayerSpec {
  /** Service name: served at {root}/rest/services/{service}/FeatureServer/{id} and MapServer. */
  service: string;
  /** Layer id within the service (default 0). */
  id?: number;
  /** Layer name (default: the service name). */
  name?: string;
  /** One of: a GeoJSON file, or generated data. */
  geojsonFile?: string;
  generate?: GenerateSpec;
  maxRecordCount?: number;
  /** Name of the OID field (default OBJECTID). */
  objectIdField?: string;
  capabilities?: LayerCapabilities;
  /**
   * A known way a foreign server's f=pbf lies, for testing the client's pbf check: `int32` writes
   * Integer, BigInteger and Date values as sint32, cut to 32 bits, as Koop does (its f=json stays
   * right). Default: none (a faithful ArcGIS encoder).
   */
  pbfQuirk?: PbfQuirk;
  /** Whether the service requires a token (default: true when users are configured). */
  secured?: boolean;
  /**
   * An editable layer, as ArcGIS Online hosted layers are: applyEdits, edit tracking
   * (editFieldsInfo), change tracking (extractChanges) and attachments, each on unless set false.
   * Generated layers are editable by default (`false`: a read-only layer with the generated fields
   * only); layers read from GeoJSON files only when this is given.
   */
  editing?: EditingSpec | false;
  /**
   * How the service lists the layer (default `Feature Layer`). A `Table` is served without its
   * geometry (listed under `tables`); a group, raster or annotation layer is listed with that type
   * (a whole-service export skips it).
   */
  type?: EmulatedLayerType;
  /** Coded-value domains by field name, listed in the layer's `fields[].domain`. */
  domains?: Record<string, CodedValue[]>;
  /**
   * More attribute fields, after the layer's own (value types of newer servers: DateOnly, TimeOnly,
   * TimestampOffset as text, BigInteger beyond 2^53). Row i holds `values[i % values.length]`.
   */
  extraFields?: ExtraFieldSpec[];
  /** Field aliases by field name (default: each field's alias is its name). */
  aliases?: Record<string, string>;
  /** The layer's `dateFieldsTimeReference` (default: none, dates in UTC). */
  dateFieldsTimeReference?: { timeZone: string; respectsDaylightSaving: boolean; timeZoneIANA?: string };
  /** `datesInUnknownTimezone: true`: dates are wall times of no known zone. */
  datesInUnknownTimezone?: boolean;
  /**
   * The spatial reference the layer declares (`extent.spatialReference` and
   * `sourceSpatialReference`; default WGS84). Declared only: the data stays in WGS84 and is
   * projected to Web Mercator only, so this serves clients that read the declaration (the datum
   * warning of `export`).
   */
  spatialReference?: SpatialReference;
  /**
   * Subtypes: `field` is the layer's `typeIdField`, each type lists its own coded-value domains (or
   * `inherited`: the field's own), in `types[].domains`.
   */
  subtypes?: {
    field: string;
    types: { id: number; name: string; domains: Record<string, CodedValue[] | 'inherited'> }[];
  };
}

export interface ExtraFieldSpec {
  name: string;
  type: EsriFieldType;
  alias?: string;
  /**
   * The values, cycled over the rows. A BigInteger given as a string of digits is exact: answered
   * as a JSON number with those digits, and as an int64 in f=pbf.
   */
  values: (string | number | null)[];
}

export interface CodedValue {
  code: number | string;
  name: string;
}

export type EmulatedLayerType =
  | 'Feature Layer'
  | 'Table'
  | 'Group Layer'
  | 'Raster Layer'
  | 'Annotation Layer';

export interface FaultRates {
  /** Probability per request, 0..1, of each fault. */
  http429?: number;
  http500?: number;
  http502?: number;
  http503?: number;
  http504?: number;
  /** Connection destroyed after part of the body was sent. */
  reset?: number;
  /** A JSON body cut in the middle (HTTP 200). */
  truncate?: number;
  /** An HTML error page (HTTP 200 or 502). */
  html?: number;
}

export interface FaultOptions {
  rates?: FaultRates;
  /** Added latency per request in ms (under `capacity`, part of the service time). */
  latencyMs?: number;
  /**
   * Service time per 1,000 features answered, in ms (larger pages take longer). The emulator's own
   * time building the answer counts in it.
   */
  msPer1000Features?: number;
  /** Retry-After seconds sent with 429 (default 1). */
  retryAfterSeconds?: number;
  /** Which routes faults apply to: `query` (default), or `all` (metadata, tokens too). */
  scope?: 'query' | 'all';
  /** Answer resultOffset as if it were 0 (returns page 1 again). */
  ignoreResultOffset?: boolean;
  /** Answer maxRecordCount + 1 rows when a full page is asked for. */
  extraRow?: boolean;
  /** Set exceededTransferLimit: true on a page cut short (fewer rows than asked). */
  shortPageExceeded?: boolean;
  /** Queries whose result would exceed this many features fail with 500 "Error performing query operation". */
  failAbove?: number;
  /**
   * orderByFields on the OID field is ignored: rows come in a fixed shuffled "file" order (as a
   * server computing OIDs from a file serves them). Ordering on other fields is honoured.
   */
  ignoreOrderBy?: boolean;
  /** orderByFields is ignored on every field, not only the OID: rows come in the "file" order. */
  ignoreOrderByAll?: boolean;
  /** Feature pages hold at most this many rows, WITHOUT exceededTransferLimit (an unflagged cap). */
  pageCap?: number;
  /** outStatistics is answered with `{}`. */
  emptyStatistics?: boolean;
  /** resultOffset is honoured up to this offset; deeper offsets answer an empty page, unflagged. */
  offsetDepth?: number;
  /**
   * Share (0..1) of the features of generated layers whose geometry is null (for layers whose
   * generate spec does not say). Applied when the layers are generated: `setFaults` cannot change it.
   */
  nullGeometries?: number;
}

export interface UserSpec {
  username: string;
  password: string;
}

/** An OAuth 2.0 app registered on the emulated portal. */
export interface OAuthAppSpec {
  clientId: string;
  /** Without a secret the app is public: PKCE is then required, and client_credentials refused. */
  clientSecret?: string;
  /**
   * Registered redirect URIs. Exact match, except loopback URIs (127.0.0.1, [::1], localhost),
   * which match on any port (RFC 8252).
   */
  redirectUris: string[];
  /** Default access-token lifetime in minutes (default 120 for client_credentials, 30 for user tokens). */
  tokenMinutes?: number;
}

export interface FederationOptions {
  /** The server trusts a portal: only tokens exchanged at that portal are accepted on its layers. */
  enabled: boolean;
  /**
   * The portal the server trusts (e.g. another emulator's `portalUrl`), advertised as `owningSystemUrl`;
   * its tokens are honoured when that emulator runs in the same process. Default: this emulator's portal.
   */
  trustedPortal?: string;
}

export interface EmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Path prefix of the server (default `/arcgis`): {prefix}/rest/info, {prefix}/tokens/generateToken. */
  prefix?: string;
  /** Path prefix of the portal (default `/portal`): {portalPrefix}/sharing/rest/generateToken. */
  portalPrefix?: string;
  users?: UserSpec[];
  layers?: LayerSpec[];
  /** Load every *.geojson / *.json file of a folder as a layer (service name = file name). */
  dataDir?: string;
  /** Default token lifetime in minutes when `expiration` is not sent (default 60). */
  tokenMinutes?: number;
  /** Cap on the requested expiration, in minutes (default 1440). */
  maxTokenMinutes?: number;
  /** For tests: every token lives this many seconds, whatever was asked. */
  tokenLifetimeSeconds?: number;
  /** Account lockout after this many bad passwords within `lockoutWindowMs` (default 5 in 15 min). */
  lockoutAttempts?: number;
  lockoutWindowMs?: number;
  /** How long an account stays locked (default 15 min). */
  lockoutDurationMs?: number;
  /** Server clock offset in ms (skew): shifts `expires` and the Date header. */
  clockOffsetMs?: number;
  faults?: FaultOptions;
  /** Seed for faults (deterministic). */
  seed?: number;
  /** Serve HTTPS with this PEM cert and key. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Injected clock for token expiry (default Date.now). */
  now?: () => number;
  /** OAuth 2.0 apps of the portal ({portalPrefix}/sharing/rest/oauth2/…). */
  apps?: OAuthAppSpec[];
  /** Lifetime of OAuth refresh tokens in seconds (default 2 weeks). */
  refreshTokenLifetimeSeconds?: number;
  /** The server is federated with a portal (see FederationOptions). */
  federation?: FederationOptions;
  /**
   * Claims this `owningSystemUrl` in rest/info (any value, e.g. a portal the client does not know);
   * implies federation mode.
   */
  owningSystemUrl?: string;
  /** Behave like ArcGIS Server 10.0: no currentVersion, legacy `tokens?request=getToken` only. */
  legacy?: boolean;
  /** API keys accepted as tokens on the server's layers (they never expire; `revokeAll` revokes them). */
  apiKeys?: string[];
  /** Service instances: at most this many queries are served at once, the others queue (default unlimited). */
  capacity?: number;
  /** Queries that may wait for an instance; beyond, they are refused (default unlimited). */
  queueLimit?: number;
  /** How a query beyond the queue is refused: 429 with Retry-After (default) or 503. */
  refuseStatus?: 429 | 503;
  /** Export jobs (createReplica async, item exports): duration, failure, faults on polls and downloads. */
  jobs?: JobOptions;
}

/** The query load the server saw. */
export interface EmulatorLoadStats {
  /** Most queries in the server at once, served or queued (refused ones not counted). */
  peakConcurrency: number;
  /** Most queries served at once (at most `capacity`). */
  peakServing: number;
  /** Queries refused because the queue was full, by status (`429`, `503`). */
  refused: Record<string, number>;
  /** Queries that waited for an instance. */
  queued: number;
  /** Total and longest time queries waited for an instance, in ms. */
  queueWaitMs: number;
  maxQueueWaitMs: number;
  /** Epoch ms of the first query admitted and of the last one answered (since the last reset). */
  firstAt?: number;
  lastAt?: number;
}

export interface EmulatorStats {
  /**
   * Tokens issued, by endpoint: `server`, `portal`, `legacy`, `oauth` (access tokens of
   * oauth2/token, every grant), `oauthRefresh` (refresh tokens), `federated` (server tokens
   * exchanged at the portal).
   */
  tokensIssued: Record<string, number>;
  /** Total tokens issued. */
  tokens: number;
  /** Requests by route name, e.g. `info`, `generateToken`, `query`, `layer`, `service`, `services`. */
  requests: Record<string, number>;
  /** Faults served by kind (`http503`, `reset`, `truncate`, …). */
  faults: Record<string, number>;
  badLogins: number;
  /** Requests rejected for an invalid/expired/revoked token (498) or a missing token (499). */
  rejected: { invalidToken: number; tokenRequired: number };
  /** Query load: peak concurrency, refusals and queueing (see `capacity`). */
  load: EmulatorLoadStats;
}

export interface EmulatorHandle {
  /** Base of the server, e.g. http://127.0.0.1:PORT/arcgis */
  readonly url: string;
  /** {url}/rest */
  readonly restUrl: string;
  /**
   * The token URL the server advertises: {url}/tokens/generateToken; {url}/tokens in legacy mode;
   * {owningSystemUrl}/sharing/rest/generateToken in federation mode.
   */
  readonly tokenUrl: string;
  /** e.g. http://127.0.0.1:PORT/portal */
  readonly portalUrl: string;
  readonly port: number;
  /** {restUrl}/services/{service}/FeatureServer/{id} */
  layerUrl(service: string, id?: number): string;
  stats(): EmulatorStats;
  resetStats(): void;
  /** Revokes every token issued so far (they answer 498). */
  revokeAll(): void;
  /** Replaces fault settings at run time. */
  /** Replaces the faults; with `seed`, the fault draws start again from it. */
  setFaults(faults: FaultOptions, seed?: number): void;
  setClockOffset(ms: number): void;
  /** Replaces the export job settings (jobs already submitted keep their duration and outcome). */
  setJobs(jobs: JobOptions): void;
  /** OAuth endpoints, federation and legacy settings, as served. */
  readonly auth: EmulatorAuthInfo;
  /** The source features of a layer, for test comparisons: OID → attributes and geometry. */
  layer(service: string, id?: number): EmulatedLayer;
  /** Every layer served, in load order (for listings such as the CLI banner). */
  layers(): readonly EmulatedLayer[];
  stop(): Promise<void>;
}

export interface EmulatorAuthInfo {
  /** {portalUrl}/sharing/rest/oauth2/authorize */
  readonly authorizeUrl: string;
  /** {portalUrl}/sharing/rest/oauth2/token */
  readonly oauthTokenUrl: string;
  /** {portalUrl}/sharing/rest/oauth2/revokeToken */
  readonly revokeTokenUrl: string;
  /** Client ids of the registered OAuth apps. */
  readonly clientIds: readonly string[];
  /** How many API keys are accepted. */
  readonly apiKeys: number;
  /** The owningSystemUrl the server advertises (federation mode), else undefined. */
  readonly owningSystemUrl: string | undefined;
  readonly legacy: boolean;
}

/** A query against a layer, parameters as received (strings). */
export type QueryParams = Readonly<Record<string, string | undefined>>;

/** Query-level faults the engine applies. */
export interface QueryFaults {
  ignoreResultOffset?: boolean;
  extraRow?: boolean;
  shortPageExceeded?: boolean;
  failAbove?: number;
  ignoreOrderBy?: boolean;
  ignoreOrderByAll?: boolean;
  pageCap?: number;
  emptyStatistics?: boolean;
  offsetDepth?: number;
}

export interface QueryAnswer {
  /** The serialized body: JSON text, or the bytes of an `f=pbf` answer. */
  body: string | Uint8Array;
  contentType: string;
  /** Features in a feature answer (for the per-feature service time). */
  features?: number;
}

/** An error answered as an ArcGIS HTTP-200 envelope. */
export class EmulatorQueryError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details: string[] = [],
  ) {
    super(message);
  }
}

export interface EmulatedLayer {
  readonly service: string;
  readonly id: number;
  readonly geometryType: EsriGeometryType;
  readonly objectIdField: string;
  readonly count: number;
  /** The layer resource, as `{layer}?f=json` answers it. */
  metadata(): LayerMetadata & Record<string, unknown>;
  /** Answers `{layer}/query`; throws EmulatorQueryError for a 400-style ArcGIS error. */
  query(params: QueryParams, faults?: QueryFaults): QueryAnswer;
  /** Every OID, ascending. */
  objectIds(): readonly number[];
  /** One source feature as Esri JSON (attributes + geometry), for test comparisons. */
  feature(oid: number): { attributes: Record<string, unknown>; geometry: unknown } | undefined;
}
