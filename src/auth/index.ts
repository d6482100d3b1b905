export type { DiscoverOptions, TokenDiscovery } from './discover.js';
export { discoverTokenUrl, findRestRoot, normaliseTokenServicesUrl, readRestInfo } from './discover.js';
export type { GenerateTokenOptions, SecretSource } from './generate-token.js';
export { GenerateTokenProvider, TOKEN_RETRY_STATUSES } from './generate-token.js';
export { parseTokenGrant } from './grant.js';
export { OriginScope } from './scope.js';
export type { StaticTokenOptions } from './static-token.js';
export { StaticTokenProvider } from './static-token.js';
export { deriveStoreKey, STORE_KEY_PREFIX } from './store-key.js';
export type { TokenManagerOptions } from './token-manager.js';
export { TokenManager } from './token-manager.js';
export type {
  Authenticator,
  AuthStats,
  FetchTokenContext,
  TokenGrant,
  TokenIdentity,
  TokenProvider,
} from './types.js';
export {
  clockOffset,
  DEFAULT_SAFETY_WINDOW_MS,
  recordFromGrant,
  refreshAtOf,
  SHORT_LIFETIME_FRACTION,
  SKEW_TOLERANCE_MS,
} from './validity.js';
