export type { DiscoverOptions, TokenDiscovery } from './discover.js';
export { discoverTokenUrl, findRestRoot, normaliseTokenServicesUrl, readRestInfo } from './discover.js';
// OAuth 2.0, legacy 10.0, federation, arcgis-rest-js interop
export type { FederatedExchangeOptions } from './federated-exchange.js';
export { FederatedExchangeProvider } from './federated-exchange.js';
export type { FederatedAuthenticatorOptions } from './federation.js';
export { FederatedAuthenticator } from './federation.js';
export type { GenerateTokenOptions } from './generate-token.js';
export { GenerateTokenProvider } from './generate-token.js';
export { parseTokenGrant } from './grant.js';
export { isLegacyServer, legacyTokenUrlOf } from './legacy-detect.js';
export type { LegacyTokenOptions } from './legacy-token.js';
export { LegacyTokenProvider, legacyMarginMs, legacyTokenUrl, readLegacyToken } from './legacy-token.js';
export type { LoopbackCallback, LoopbackOptions, LoopbackReceiver } from './loopback.js';
export { startLoopbackReceiver } from './loopback.js';
export type { ClientCredentialsOptions } from './oauth-client-credentials.js';
export { ClientCredentialsProvider } from './oauth-client-credentials.js';
export type { PortalEndpoints } from './oauth-endpoints.js';
export { portalEndpoints, samePortal } from './oauth-endpoints.js';
export type { OAuthGrant } from './oauth-grant.js';
export { parseOAuthGrant } from './oauth-grant.js';
export type { LoginOptions, LoginResult, OpenBrowser } from './oauth-login.js';
export { authorizeUrl, DEFAULT_LOGIN_TIMEOUT_MS, loginWithBrowser, printToStderr } from './oauth-login.js';
export type { LogoutOptions, LogoutResult } from './oauth-logout.js';
export { logout, revokeToken } from './oauth-logout.js';
export type { RefreshTokenOptions } from './oauth-refresh-token.js';
export {
  DEFAULT_EXCHANGE_FRACTION,
  DEFAULT_EXCHANGE_WITHIN_MS,
  RefreshTokenProvider,
} from './oauth-refresh-token.js';
export type { OAuthSession } from './oauth-session.js';
export {
  DEFAULT_REFRESH_TOKEN_LIFETIME_MS,
  deleteSession,
  OAUTH_SESSION_KIND,
  oauthSessionKey,
  oauthUserTokenKey,
  readSession,
  writeSession,
} from './oauth-session.js';
export type { PkcePair } from './pkce.js';
export { createPkce, createState, pkceChallenge } from './pkce.js';
export type { ArcGISRestAuthentication, RestJsAdapterOptions } from './rest-js-adapter.js';
export {
  DEFAULT_REFRESH_GRACE_MS,
  REST_JS_NODE_REFERER,
  toArcGISRestAuthentication,
} from './rest-js-adapter.js';
export { OriginScope } from './scope.js';
export type { SecretSource } from './secret-source.js';
export { resolveSecret } from './secret-source.js';
export type { StaticTokenOptions } from './static-token.js';
export { StaticTokenProvider } from './static-token.js';
export { deriveStoreKey, STORE_KEY_PREFIX } from './store-key.js';
export type { TokenManagerOptions } from './token-manager.js';
export { TokenManager } from './token-manager.js';
export { postTokenRequest, TOKEN_RETRY_STATUSES, tokenRetryPolicy } from './token-request.js';
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
