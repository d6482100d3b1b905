/**
 * ArcGIS error envelopes, worded as real servers word them. They travel with HTTP 200.
 */
import type { EsriErrorEnvelope } from '../core/protocol.js';
import { jsonReply, type Reply } from './reply.js';

export function envelope(code: number, message: string, details: string[] = [], messageCode?: string): Reply {
  const error: EsriErrorEnvelope['error'] = {
    code,
    message,
    ...(messageCode === undefined ? {} : { messageCode }),
    details,
  };
  return jsonReply({ error });
}

export const tokenRequired = (): Reply => envelope(499, 'Token Required', ['Token Required'], 'GWM_0003');

export const invalidToken = (): Reply => envelope(498, 'Invalid token.', ['Invalid token.']);

export const invalidUrl = (): Reply => envelope(400, 'Invalid URL', ['Invalid URL']);

export const UNABLE = 'Unable to generate token.';

export const badCredentials = (): Reply => envelope(400, UNABLE, ['Invalid username or password.']);

export const LOCKOUT_DETAIL = 'Too many invalid logon attempts. Try again later.';

export const accountLocked = (): Reply => envelope(400, UNABLE, [LOCKOUT_DETAIL]);

/**
 * What ArcGIS Server 10.3.1+ answers to a generateToken GET, or to credentials in the query string.
 * Real servers send `details` as a plain string here (not an array): kept as is, on purpose.
 */
export const methodNotSupported = (): Reply =>
  jsonReply({
    error: {
      code: 405,
      message: 'Method not supported',
      details: 'Generate Token request should not contain username and password in the query string.',
    },
  });

export const missingParameters = (names: string[]): Reply =>
  envelope(
    400,
    UNABLE,
    names.map((n) => `'${n}' must be specified.`),
  );

export const invalidClient = (): Reply => envelope(400, UNABLE, ["Invalid value for 'client'."]);

export const unexpected = (): Reply => envelope(500, 'Unable to complete operation.', []);

/** A federated server's own token service is not used: tokens come from its portal. */
export const federatedServerRefusal = (): Reply =>
  envelope(400, UNABLE, ['This server is federated with a portal: generate tokens at the portal.']);

export const invalidServerUrl = (): Reply => envelope(400, UNABLE, ["Invalid value for 'serverUrl'."]);
