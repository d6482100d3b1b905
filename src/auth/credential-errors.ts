/**
 * Guards shared by the credential providers: where a password may be sent, and how a token
 * endpoint's refusal is reported (never retried, never with the secret in it).
 */
import { EtlError } from '../core/errors.js';
import { redactUrl } from '../core/redact.js';
import { isLoopbackHost, parseHttpUrl } from '../core/url.js';

/**
 * A token endpoint URL fit to receive credentials: HTTPS (plain http only on loopback), no user
 * info, no query string. Returns it normalised.
 */
export function checkCredentialUrl(input: string): string {
  const url = parseHttpUrl(input);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new EtlError('INSECURE_URL', `Refusing to send credentials over plain http: ${redactUrl(url)}`, {
      url: redactUrl(url),
    });
  }
  if (url.username || url.password) {
    throw new EtlError('INVALID_URL', `A token URL must not carry user info: ${redactUrl(url)}`);
  }
  url.search = '';
  url.hash = '';
  return url.toString();
}

const BAD_CREDENTIAL_TEXT = /invalid username or password|unable to generate token|invalid credentials/i;
const LOCKED_TEXT = /locked|too many (?:invalid|failed)/i;

/**
 * Normalises an error from a token request: credential refusals become BAD_CREDENTIALS or
 * ACCOUNT_LOCKED (whatever layer classified them), everything else is returned as is.
 */
export function credentialError(error: EtlError, tokenUrl: string, username: string | undefined): EtlError {
  if (error.code === 'BAD_CREDENTIALS' || error.code === 'ACCOUNT_LOCKED') return error;
  const text = [error.message, ...error.details].join(' ');
  const refused =
    error.code === 'ARCGIS_ERROR' ||
    error.code === 'HTTP_ERROR' ||
    error.code === 'FORBIDDEN' ||
    error.code === 'TOKEN_INVALID';
  if (!refused) return error;
  const who = username ? ` for ${username}` : '';
  const options = {
    cause: error,
    url: redactUrl(tokenUrl),
    details: error.details,
    ...(error.status === undefined ? {} : { status: error.status }),
    ...(error.arcgisCode === undefined ? {} : { arcgisCode: error.arcgisCode }),
  };
  if (LOCKED_TEXT.test(text)) {
    return new EtlError('ACCOUNT_LOCKED', `The account${who} is locked (${error.message})`, options);
  }
  const code = error.arcgisCode ?? error.status;
  if (BAD_CREDENTIAL_TEXT.test(text) || code === 400 || code === 401) {
    return new EtlError(
      'BAD_CREDENTIALS',
      `The token endpoint refused the credentials${who} (${error.message}); not retrying, to avoid locking the account`,
      options,
    );
  }
  return error;
}
