/**
 * The options a username/password token request shares, whatever the endpoint (`generateToken`,
 * the 10.0 `getToken`): checked once, the password registered for redaction, the binding resolved.
 */
import { EtlError } from '../core/errors.js';
import type { TokenClientType } from '../core/protocol.js';
import { registerSecret } from '../core/redact.js';
import type { SecretSource } from './secret-source.js';
import type { TokenIdentity } from './types.js';

export interface UserTokenOptions {
  username: string;
  password: SecretSource;
  /** Default: `referer` when a referer is given, else `requestip`. */
  client?: TokenClientType;
  /** Required with client=referer: every request using the token must carry this Referer. */
  referer?: string;
  /** Required with client=ip. */
  ip?: string;
  /** Requested lifetime in minutes (default 60). The server may cap it. */
  expirationMinutes?: number;
}

export interface UserTokenSettings {
  identity: TokenIdentity & { username: string };
  password: SecretSource;
  client: TokenClientType;
  referer: string | undefined;
  ip: string | undefined;
  /** Requested lifetime, whole minutes. */
  minutes: number;
}

/** Checks the options of a `request` (`generateToken` / `getToken`) request; throws a clear error. */
export function userTokenSettings(options: UserTokenOptions, request: string): UserTokenSettings {
  if (!options.username) throw new EtlError('MISSING_CREDENTIALS', `${request} needs a username`);
  if (typeof options.password === 'string') {
    if (options.password.length === 0) {
      throw new EtlError('MISSING_CREDENTIALS', `${request} needs a password for ${options.username}`);
    }
    registerSecret(options.password);
  }
  const client = options.client ?? (options.referer ? 'referer' : 'requestip');
  if (client === 'referer' && !options.referer) throw new EtlError('USAGE', 'client=referer needs a referer');
  if (client === 'ip' && !options.ip) throw new EtlError('USAGE', 'client=ip needs an ip');
  const minutes = options.expirationMinutes ?? 60;
  if (!Number.isFinite(minutes) || minutes <= 0) {
    throw new EtlError('USAGE', `expirationMinutes must be a positive number of minutes, got ${minutes}`);
  }
  return {
    identity: {
      username: options.username,
      client,
      ...(client === 'referer' && options.referer ? { referer: options.referer } : {}),
    },
    password: options.password,
    client,
    referer: options.referer,
    ip: options.ip,
    minutes: Math.round(minutes),
  };
}
