export {
  type AgentOptions,
  createAgent,
  DEFAULT_CONNECTIONS,
  DEFAULT_TIMEOUTS,
  type TransportTimeouts,
} from './agent.js';
export { DEFAULT_MAX_BODY_BYTES } from './body.js';
export {
  ConcurrencyController,
  type ConcurrencyLimit,
  type ConcurrencyOptions,
  type ConcurrencySample,
  type ConcurrencyStats,
  DEFAULT_INITIAL_CONCURRENCY,
  DEFAULT_MAX_CONCURRENCY,
} from './concurrency.js';
export { encodeParams, encodeRequest, MAX_GET_URL_LENGTH } from './encode.js';
export {
  arcgisError,
  checkTextResponse,
  envelopeError,
  isTruncatedJson,
  parseJsonResponse,
} from './envelope.js';
export { HostConcurrency, type HostConcurrencySettings } from './host-concurrency.js';
export { MAX_REDIRECTS } from './redirect.js';
export {
  type AttemptFailure,
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  decideRetry,
  isRetryable,
  parseRetryAfter,
  type RetryDecision,
  resolveRetryPolicy,
} from './retry.js';
export {
  createTransport,
  DEFAULT_USER_AGENT,
  type HttpTransport,
  type TransportOptions,
} from './transport.js';
export type {
  HttpResponse,
  Params,
  ParamValue,
  RequestOptions,
  RetryPolicy,
  Transport,
  TransportStats,
} from './types.js';
export { createUrlPolicy, type UrlPolicy } from './url-policy.js';
