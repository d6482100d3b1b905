/**
 * Errors of the portal's OAuth endpoints, in the portal's shape: the ArcGIS envelope with the OAuth
 * `error` / `error_description` fields inside (`{"error":{"code":400,"error":"invalid_request",
 * "error_description":"…","message":"…","details":[]}}`), on HTTP 200.
 */
import { jsonReply, type Reply } from './reply.js';

export function oauthError(code: number, error: string, description: string): Reply {
  return jsonReply({
    error: { code, error, error_description: description, message: description, details: [] },
  });
}

export const notSpecified = (name: string): Reply =>
  oauthError(400, 'invalid_request', `${name} not specified`);

export const invalidClientId = (): Reply => oauthError(400, 'invalid_request', 'Invalid client_id');

export const invalidClientSecret = (): Reply => oauthError(400, 'invalid_client', 'Invalid client_secret');

export const invalidRedirectUri = (): Reply => oauthError(400, 'invalid_request', 'Invalid redirect_uri');

export const invalidCode = (): Reply => oauthError(400, 'invalid_grant', 'Invalid authorization code');

export const invalidVerifier = (): Reply => oauthError(400, 'invalid_grant', 'Invalid code_verifier');

export const invalidRefreshToken = (): Reply => oauthError(498, 'invalid_request', 'Invalid refresh_token');

export const unsupportedGrantType = (): Reply =>
  oauthError(400, 'unsupported_grant_type', 'Unsupported grant_type');

export const oauthMethodNotSupported = (): Reply =>
  oauthError(405, 'invalid_request', 'Method not supported');
