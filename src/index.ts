// The public API of arcgis-etl: explicit named exports only. The emulator is the
// `arcgis-etl/emulator` subpath.

export type { TokenDiscovery } from './auth/discover.js';
// auth
export { discoverTokenUrl, findRestRoot } from './auth/discover.js';
export { FederatedExchangeProvider } from './auth/federated-exchange.js';
export type { FederatedAuthenticatorOptions } from './auth/federation.js';
export { FederatedAuthenticator } from './auth/federation.js';
export type { GenerateTokenOptions } from './auth/generate-token.js';
export { GenerateTokenProvider } from './auth/generate-token.js';
export { isLegacyServer } from './auth/legacy-detect.js';
export type { LegacyTokenOptions } from './auth/legacy-token.js';
export { LegacyTokenProvider } from './auth/legacy-token.js';
export type { ClientCredentialsOptions } from './auth/oauth-client-credentials.js';
export { ClientCredentialsProvider } from './auth/oauth-client-credentials.js';
export { portalEndpoints } from './auth/oauth-endpoints.js';
export type { LoginOptions, LoginResult, OpenBrowser } from './auth/oauth-login.js';
export { loginWithBrowser } from './auth/oauth-login.js';
export type { LogoutOptions, LogoutResult } from './auth/oauth-logout.js';
export { logout, revokeToken } from './auth/oauth-logout.js';
export type { RefreshTokenOptions } from './auth/oauth-refresh-token.js';
export { RefreshTokenProvider } from './auth/oauth-refresh-token.js';
export { readSession } from './auth/oauth-session.js';
export { createPkce, pkceChallenge } from './auth/pkce.js';
export type { ArcGISRestAuthentication, RestJsAdapterOptions } from './auth/rest-js-adapter.js';
export { REST_JS_NODE_REFERER, toArcGISRestAuthentication } from './auth/rest-js-adapter.js';
export type { SecretSource } from './auth/secret-source.js';
export type { StaticTokenOptions } from './auth/static-token.js';
export { StaticTokenProvider } from './auth/static-token.js';
export type { TokenManagerOptions } from './auth/token-manager.js';
export { TokenManager } from './auth/token-manager.js';
export { checkServerNamedUrl, registrableDomain, trustOf } from './auth/token-url-policy.js';
export type {
  Authenticator,
  AuthStats,
  FetchTokenContext,
  TokenGrant,
  TokenIdentity,
  TokenProvider,
} from './auth/types.js';
export { DEFAULT_SAFETY_WINDOW_MS } from './auth/validity.js';
// client
export { ArcGISClient } from './client/arcgis-client.js';
export type { Connection, ConnectOptions, Credentials } from './client/connect.js';
export { connect } from './client/connect.js';
export type {
  ArcGISClientOptions,
  ClientRequestOptions,
  ClientStats,
  TokenPlacement,
} from './client/types.js';
export type { ErrorCode, EtlErrorOptions } from './core/errors.js';
// core
export { ERROR_CODES, EtlError, isEtlError } from './core/errors.js';
export type { Emit, EtlEvent, Logger } from './core/events.js';
export { createEmitter, EVENTS_CHANNEL, silentLogger } from './core/events.js';
export { FakeTime } from './core/fake-time.js';
export type { HeapGrowthOptions } from './core/heap.js';
export { HEAP_GROWING_PERCENT, limitHeapGrowth } from './core/heap.js';
export type {
  EsriFeature,
  EsriField,
  EsriGeometry,
  EsriGeometryType,
  EsriQueryResponse,
  LayerMetadata,
  SpatialReference,
  TokenClientType,
} from './core/protocol.js';
export { redact, redactUrl, registerSecret } from './core/redact.js';
export type { Clock, Random, Runtime, Sleep } from './core/time.js';
export { realSleep, seededRandom, systemClock } from './core/time.js';
// incremental sync, attachments and server jobs (issue 16: h-sync)
export type { AttachmentEntry, AttachmentOptions, AttachmentStats } from './features/attachments/download.js';
export { downloadAttachments, MANIFEST_NAME } from './features/attachments/download.js';
export { safeFileName } from './features/attachments/names.js';
// bulk export jobs (createReplica, item exports)
export type {
  BulkLayerStats,
  BulkOptions,
  BulkServerFormat,
  BulkStats,
  BulkVia,
} from './features/bulk/bulk.js';
export { BULK_SERVER_FORMATS, bulkExport } from './features/bulk/bulk.js';
export {
  checkValueOptions,
  DATE_MODES,
  type DateMode,
  isoDateFormatter,
  layerTimeReference,
  type TimeReference,
  validateDateMode,
} from './features/dates.js';
export type { DomainMode, LayerDomains } from './features/domains.js';
export { DOMAIN_MODES, layerDomains, validateDomainMode } from './features/domains.js';
export type { ExportOptions, ExportProgress, ExportStats } from './features/export.js';
// features
export { exportLayer } from './features/export.js';
export type {
  LayerResult,
  LayerTarget,
  ServiceExportOptions,
  ServiceExportResult,
  ServiceSync,
} from './features/export-service.js';
export { DEFAULT_LAYERS_AT_ONCE, exportService } from './features/export-service.js';
export type { ExtractedPage, ExtractOptions, StrategyChoice } from './features/extract.js';
export { extractPages } from './features/extract.js';
export type { FeatureSchema } from './features/geometry/feature.js';
export { esriFeatureToGeoJSON } from './features/geometry/feature.js';
export { esriGeometryToGeoJSON } from './features/geometry/toGeoJSON.js';
export type { GeoJSONFeature, GeoJSONGeometry } from './features/geometry/types.js';
export { geometryToWkt } from './features/geometry/wkt.js';
// features: spatial filters (--bbox, --geometry) and whole services (h-service)
export { geometryFilter, MAX_QUERY_VERTICES } from './features/geometry-filter.js';
export type { GeometryOptions } from './features/geometry-options.js';
export { geometryParams, parseDatumTransformation } from './features/geometry-options.js';
export type {
  JobState,
  JobStatus,
  PollOptions,
  PollResult,
  PollSchedule,
  PollStatusUrlOptions,
  PollStatusUrlResult,
} from './features/jobs/poll.js';
export { jobStatusState, pollJob, pollStatusUrl } from './features/jobs/poll.js';
export type { LayerInfo } from './features/metadata.js';
export { fetchLayerInfo, normalizeLayerUrl } from './features/metadata.js';
export type { ClaimOutputOptions, OutputClaim } from './features/output-claim.js';
export { checkWritableFile, claimOutput, outputLockPath } from './features/output-claim.js';
export type { ExplicitQuery, PastedQuery } from './features/pasted-query.js';
export { mergePastedQuery, parsePastedLayerUrl } from './features/pasted-query.js';
export type { PbfQueryResult } from './features/pbf-decode.js';
export { decodeQueryPbf } from './features/pbf-decode.js';
export type { QueryFormat } from './features/query.js';
export { QUERY_FORMATS } from './features/query.js';
export type { ServiceInfo, ServiceLayer } from './features/service.js';
export { fetchServiceInfo, isServiceUrl, layerFileStem, selectLayers } from './features/service.js';
export type { Bbox, SpatialFilter } from './features/spatial-filter.js';
export { bboxFilter, filterParams, parseBbox } from './features/spatial-filter.js';
export { type OrderBy, parseOrderBy } from './features/strategies/order-by.js';
export type { StrategyName } from './features/strategies/types.js';
export type { ChangeSet } from './features/sync/changes.js';
export { extractChanges } from './features/sync/changes.js';
export { defaultDeletesPath } from './features/sync/deletes.js';
export type { ServiceSyncState, SyncMode, SyncState } from './features/sync/state.js';
export { readServiceSyncState, readSyncState } from './features/sync/state.js';
export type { SyncOptions, SyncStats } from './features/sync/sync.js';
export { syncLayer } from './features/sync/sync.js';
export { parseSince, syncCapabilities } from './features/sync/tracking.js';
// outputs: Shapefile and FlatGeobuf (h-files)
export {
  FORMAT_EXTENSIONS,
  formatForOutput,
  UNRESUMABLE_FORMATS,
  WRITER_FORMATS,
} from './features/writers/formats.js';
export type {
  CreateWriterOptions,
  FeatureWriter,
  // GeoPackage and GeoParquet outputs (h-gpkg)
  GpkgWriterOptions,
  ParquetWriterOptions,
  WriterFormat,
} from './features/writers/types.js';
export { createWriter } from './features/writers/writer.js';
// fleet: pipelines on a BullMQ queue, workers, fleet-wide host budgets
export type { EnqueuedRun, EnqueueOptions, WaitOptions } from './fleet/coordinator.js';
export { enqueuePipeline, FleetQueue, hostBudgetsOf, waitForRun } from './fleet/coordinator.js';
export type { HostBudgetOptions, HostBudgetStats, HostBudgets } from './fleet/host-budget.js';
export { budgetFor, RedisHostBudget } from './fleet/host-budget.js';
export type {
  FleetJobData,
  FleetLayerJob,
  FleetProgress,
  FleetResult,
  FleetShard,
} from './fleet/job-data.js';
export { DEFAULT_QUEUE_NAME } from './fleet/job-data.js';
export { leasedTransport } from './fleet/leased-transport.js';
export { isMergeable, MERGEABLE_FORMATS, mergeParts } from './fleet/merge.js';
export { checkRedisUrl } from './fleet/redis.js';
export { DEFAULT_SHARD_SIZE, oidRanges } from './fleet/shards.js';
export type { LayerState, LayerStatus, RunStatus } from './fleet/status.js';
export { formatRunStatus } from './fleet/status.js';
export type { FleetWorker, FleetWorkerEvent, FleetWorkerOptions } from './fleet/worker.js';
export { startFleetWorker } from './fleet/worker.js';
// http
export { DEFAULT_TIMEOUTS, type TransportTimeouts } from './http/agent.js';
export type {
  ConcurrencyLimit,
  ConcurrencyOptions,
  ConcurrencySample,
  ConcurrencyStats,
} from './http/concurrency.js';
export {
  ConcurrencyController,
  DEFAULT_INITIAL_CONCURRENCY,
  DEFAULT_MAX_CONCURRENCY,
} from './http/concurrency.js';
export type { HostConcurrencySettings } from './http/host-concurrency.js';
export { HostConcurrency } from './http/host-concurrency.js';
export { DEFAULT_RETRY_POLICY } from './http/retry.js';
export type { HttpTransport, TransportOptions } from './http/transport.js';
export { createTransport } from './http/transport.js';
export type {
  BinaryOrJson,
  HttpResponse,
  Params,
  RequestOptions,
  RetryPolicy,
  Transport,
} from './http/types.js';
export type { FlatGeobufOptions } from './outputs/fgb/options.js';
export type { PostgisMode, PostgisOptions } from './outputs/postgis/options.js';
export { POSTGIS_MODES } from './outputs/postgis/options.js';
// outputs: PostGIS
export { checkPostgisTarget } from './outputs/postgis/preflight.js';
export type { PostgisTarget } from './outputs/postgis/target.js';
export { isPostgisOutput, parsePostgisTarget, targetFileStem } from './outputs/postgis/target.js';
export type { ShapefileOptions } from './outputs/shapefile/options.js';
export type { PipelineConnectionsOptions } from './pipeline/connections.js';
export { hostBudget, PipelineConnections } from './pipeline/connections.js';
export type { Environment, SecretContext } from './pipeline/credentials.js';
export {
  checkPipelineCredentials,
  credentialConnectOptions,
  usedCredentials,
} from './pipeline/credentials.js';
// pipelines (issue 17): the export options by flag name, one layer's export, pipeline files
export type {
  ExportFlags,
  ExportGivenOption,
  FlagContext,
  LayerExportOptions,
  LayerExportPlan,
  SpatialFlags,
  StrategyFlag,
} from './pipeline/export-flags.js';
export {
  checkExportChoices,
  EXPORT_DEFAULTS,
  EXPORT_STRATEGIES,
  geometryOptionsFrom,
  layerExportPlan,
  serviceQuery,
  spatialFilterFrom,
} from './pipeline/export-flags.js';
export type { LayerExportContext, LayerExportResult } from './pipeline/layer-export.js';
export { claimLayerOutput, runLayerExport } from './pipeline/layer-export.js';
export { describePointer, loadPipeline, pipelineError, pipelineId, positionOf } from './pipeline/load.js';
export type { PlanDeps } from './pipeline/plan.js';
export { fillTemplate, planPipeline, serviceNameOf } from './pipeline/plan.js';
export type { JobContext } from './pipeline/run-job.js';
export { jobExportPlan, jobFlags, runPipelineJob, runPipelineJobDetailed } from './pipeline/run-job.js';
export type { JobEvent, JobResult, LocalRunOptions, LocalRunResult } from './pipeline/run-local.js';
export {
  DEFAULT_LAYERS_AT_ONCE as PIPELINE_LAYERS_AT_ONCE,
  runPipelineLocally,
} from './pipeline/run-local.js';
export { pipelineSchema, validatePipelineData } from './pipeline/schema.js';
export { runSecretCommand } from './pipeline/secret-command.js';
export type {
  HostBudget,
  Pipeline,
  PipelineCredential,
  PipelineJob,
  PipelineSource,
  SecretRef,
} from './pipeline/types.js';
export type { FileStoreOptions } from './stores/file.js';
// stores
export { FileStore } from './stores/file.js';
export type { CreateTokenStoreOptions } from './stores/index.js';
export { createTokenStore } from './stores/index.js';
export { MemoryStore } from './stores/memory.js';
export type { RedisStoreOptions } from './stores/redis.js';
export { RedisStore } from './stores/redis.js';
export type { LockOptions, TokenRecord, TokenStore } from './stores/types.js';
