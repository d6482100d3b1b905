/**
 * A pipeline's named credentials → what `connect` takes. Secrets come from environment variables
 * or a secret command, never from the file (the schema refuses a literal). A command runs when
 * the secret is first needed, once per credential.
 */
import type { ConnectOptions, Credentials } from '../client/connect.js';
import { EtlError } from '../core/errors.js';
import { registerSecret } from '../core/redact.js';
import { pipelineError, positionOf } from './load.js';
import { runSecretCommand } from './secret-command.js';
import type { Pipeline, PipelineCredential, SecretRef } from './types.js';

export type Environment = Readonly<Record<string, string | undefined>>;

export interface SecretContext {
  env: Environment;
  /** Runs a secret command (default: a shell, 30 s at most). */
  runCommand?: ((command: string, env: Environment) => Promise<string>) | undefined;
}

/** The credential names the sources use. */
export function usedCredentials(pipeline: Pipeline): string[] {
  return [...new Set(pipeline.sources.flatMap((s) => (s.credentials === undefined ? [] : [s.credentials])))];
}

/**
 * Every environment variable a used credential names is set (not empty): else one line with the
 * position of the reference (MISSING_CREDENTIALS). Commands are not run here.
 */
export function checkPipelineCredentials(pipeline: Pipeline, env: Environment): void {
  for (const name of usedCredentials(pipeline)) {
    const credential = pipeline.credentials[name] ?? {};
    for (const [key, value] of Object.entries(credential)) {
      if (value !== null && typeof value === 'object' && 'env' in value) {
        const variable = (value as { env: string }).env;
        if (!env[variable]) {
          const pointer = `/credentials/${name}/${key}/env`;
          throw pipelineError(
            pipeline.file,
            positionOf(pipeline.positions, pointer),
            `credential "${name}": ${key} comes from the environment variable ${variable}, which is not set`,
            'MISSING_CREDENTIALS',
          );
        }
      }
    }
    const kinds = ['password', 'token', 'api-key', 'client-id'].filter((k) => k in credential);
    if (kinds.length === 0) {
      throw pipelineError(
        pipeline.file,
        positionOf(pipeline.positions, `/credentials/${name}`),
        `credential "${name}" has no username/password, token, api-key or client-id`,
      );
    }
    if ('password' in credential && !('username' in credential)) {
      throw pipelineError(
        pipeline.file,
        positionOf(pipeline.positions, `/credentials/${name}`),
        `credential "${name}" has a password but no username`,
      );
    }
  }
}

async function secretValue(ref: SecretRef, what: string, context: SecretContext): Promise<string> {
  if ('env' in ref) {
    const value = context.env[ref.env];
    if (!value)
      throw new EtlError('MISSING_CREDENTIALS', `${what}: the environment variable ${ref.env} is not set`);
    registerSecret(value);
    return value;
  }
  const run = context.runCommand ?? runSecretCommand;
  const value = (await run(ref.command, context.env)).replace(/\r?\n$/, '');
  registerSecret(value);
  return value;
}

/** A value that is not a secret (username, client id): as written, or from its reference. */
function plainValue(value: string | SecretRef, what: string, context: SecretContext): Promise<string> {
  return typeof value === 'string' ? Promise.resolve(value) : secretValue(value, what, context);
}

/** What `connect` takes for a named credential (the password command runs when a token is first needed). */
export async function credentialConnectOptions(
  pipeline: Pipeline,
  name: string,
  context: SecretContext,
): Promise<
  Pick<
    ConnectOptions,
    'credentials' | 'portal' | 'tokenUrl' | 'referer' | 'client' | 'expirationMinutes' | 'tokenPlacement'
  >
> {
  const c: PipelineCredential | undefined = pipeline.credentials[name];
  if (!c) throw new EtlError('USAGE', `${pipeline.file}: no credential named "${name}"`);
  const what = (key: string) => `credential "${name}" ${key}`;
  let credentials: Credentials;
  if (c.token) credentials = { token: await secretValue(c.token, what('token'), context) };
  else if (c['api-key']) credentials = { apiKey: await secretValue(c['api-key'], what('api-key'), context) };
  else if (c['client-id'] !== undefined) {
    const clientId = await plainValue(c['client-id'], what('client-id'), context);
    const secret = c['client-secret'];
    credentials = {
      clientId,
      ...(secret ? { clientSecret: await secretValue(secret, what('client-secret'), context) } : {}),
    };
  } else if (c.username !== undefined && c.password) {
    const password = c.password;
    const username = await plainValue(c.username, what('username'), context);
    let once: Promise<string> | undefined;
    credentials = {
      username,
      // a command runs once, when the first token is requested
      password:
        'env' in password
          ? await secretValue(password, what('password'), context)
          : () => {
              once ??= secretValue(password, what('password'), context);
              return once;
            },
    };
  } else {
    throw new EtlError('USAGE', `${pipeline.file}: credential "${name}" has no usable secret`);
  }
  return {
    credentials,
    ...(c.portal === undefined ? {} : { portal: c.portal }),
    ...(c['token-url'] === undefined ? {} : { tokenUrl: c['token-url'] }),
    ...(c.referer === undefined ? {} : { referer: c.referer }),
    ...(c.client === undefined ? (c.referer ? { client: 'referer' as const } : {}) : { client: c.client }),
    ...(c.expiration === undefined ? {} : { expirationMinutes: c.expiration }),
    ...(c['token-in'] === undefined ? {} : { tokenPlacement: c['token-in'] }),
  };
}
