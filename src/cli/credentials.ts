/**
 * Credentials for the CLI come from the environment, stdin or a command — never from a flag value.
 */
import type { Readable } from 'node:stream';
import { EtlError } from '../core/errors.js';
import { registerSecret } from '../core/redact.js';
import { runSecretCommand } from '../pipeline/secret-command.js';

export type CliCredentials =
  | { kind: 'none' }
  | { kind: 'password'; username: string; password: string }
  | { kind: 'token'; token: string }
  | { kind: 'apiKey'; apiKey: string }
  /** OAuth: ARCGIS_CLIENT_ID + ARCGIS_CLIENT_SECRET (app), or ARCGIS_CLIENT_ID alone (the sign-in saved by `login`). */
  | { kind: 'oauth'; clientId: string; clientSecret?: string };

export interface CredentialSources {
  env: Readonly<Record<string, string | undefined>>;
  stdin: Readable;
  passwordStdin?: boolean;
  /** A command whose stdout is the password (flag or ARCGIS_PASSWORD_COMMAND). */
  passwordCommand?: string | undefined;
}

export async function resolveCredentials(sources: CredentialSources): Promise<CliCredentials> {
  const { env } = sources;
  const token = env.ARCGIS_TOKEN;
  const apiKey = env.ARCGIS_API_KEY;
  if (token) {
    registerSecret(token);
    return { kind: 'token', token };
  }
  if (apiKey) {
    registerSecret(apiKey);
    return { kind: 'apiKey', apiKey };
  }
  const clientId = env.ARCGIS_CLIENT_ID?.trim();
  const clientSecret = env.ARCGIS_CLIENT_SECRET;
  if (clientSecret) registerSecret(clientSecret);
  if (clientId && clientSecret) return { kind: 'oauth', clientId, clientSecret };
  if (clientSecret)
    throw new EtlError('MISSING_CREDENTIALS', 'ARCGIS_CLIENT_SECRET is set but ARCGIS_CLIENT_ID is not');
  const username = env.ARCGIS_USERNAME;
  const command = sources.passwordCommand ?? env.ARCGIS_PASSWORD_COMMAND;
  let password: string | undefined;
  if (sources.passwordStdin) password = await readAll(sources.stdin);
  else if (command) password = await runSecretCommand(command, env);
  else password = env.ARCGIS_PASSWORD;
  if (password !== undefined) password = password.replace(/\r?\n$/, '');
  if (password) registerSecret(password);

  if (!username && !password) return clientId ? { kind: 'oauth', clientId } : { kind: 'none' };
  if (!username)
    throw new EtlError('MISSING_CREDENTIALS', 'a password was given but ARCGIS_USERNAME is not set');
  if (!password) {
    throw new EtlError(
      'MISSING_CREDENTIALS',
      `ARCGIS_USERNAME is set but no password: set ARCGIS_PASSWORD, ARCGIS_PASSWORD_COMMAND, or use --password-stdin`,
    );
  }
  return { kind: 'password', username, password };
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}
