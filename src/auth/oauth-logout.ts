/**
 * `arcgis-etl logout`: revokes the saved refresh token at `{portal}/sharing/rest/oauth2/revokeToken`
 * (`auth_token`, `token_type_hint=refresh_token`, `client_id`; the portal answers success even for
 * unknown tokens) and clears the sign-in and its cached access token from the token cache.
 * The cache is cleared even when the revocation fails (the error is reported afterwards).
 */
import { EtlError, toEtlError } from '../core/errors.js';
import { registerSecret } from '../core/redact.js';
import type { Transport } from '../http/types.js';
import type { TokenStore } from '../stores/types.js';
import { portalEndpoints } from './oauth-endpoints.js';
import { deleteSession, oauthUserTokenKey, readSession } from './oauth-session.js';
import { postTokenRequest } from './token-request.js';

export interface LogoutOptions {
  portal: string;
  clientId: string;
  transport: Transport;
  store: TokenStore;
  signal?: AbortSignal;
}

export interface LogoutResult {
  /** Whether a saved sign-in was found. */
  hadSession: boolean;
  /** Whether the portal confirmed the revocation. */
  revoked: boolean;
  username: string | undefined;
}

/** Revokes one token (refresh or access). Resolves to the portal's `success`. */
export async function revokeToken(
  transport: Transport,
  revokeUrl: string,
  token: string,
  clientId: string,
  hint: 'refresh_token' | 'access_token' = 'refresh_token',
  signal?: AbortSignal,
): Promise<boolean> {
  registerSecret(token);
  const response = await postTokenRequest<{ success?: unknown }>(
    transport,
    revokeUrl,
    { auth_token: token, token_type_hint: hint, client_id: clientId, f: 'json' },
    { who: `client ${clientId}`, ...(signal ? { signal } : {}) },
  );
  return response.body?.success === true;
}

export async function logout(options: LogoutOptions): Promise<LogoutResult> {
  const endpoints = portalEndpoints(options.portal);
  const session = await readSession(options.store, endpoints.token, options.clientId);
  let failure: EtlError | undefined;
  let revoked = false;
  if (session !== undefined) {
    try {
      revoked = await revokeToken(
        options.transport,
        endpoints.revoke,
        session.refreshToken,
        options.clientId,
        'refresh_token',
        options.signal,
      );
    } catch (error) {
      failure = toEtlError(error);
    }
  }
  await deleteSession(options.store, endpoints.token, options.clientId);
  await options.store.delete(oauthUserTokenKey(endpoints.token, options.clientId));
  if (failure) {
    throw new EtlError(
      failure.code,
      `The sign-in was removed from the token cache, but the portal did not confirm the revocation: ${failure.message}`,
      { cause: failure },
    );
  }
  return { hadSession: session !== undefined, revoked, username: session?.username };
}
