/**
 * Flags + environment → a connected ArcGISClient, shared by export, info and token.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type * as Pino from 'pino';
import { type Connection, connect } from '../client/connect.js';
import { EtlError } from '../core/errors.js';
import { createEmitter, type Emit, type Logger } from '../core/events.js';
import { requireOnUse } from '../core/lazy-require.js';
import type { Runtime } from '../core/time.js';
import { DEFAULT_TIMEOUTS } from '../http/agent.js';
import { AuditLog } from './audit-log.js';
import { type CliCredentials, resolveCredentials } from './credentials.js';
import { eventLine, type Verbosity } from './event-lines.js';
import { type CliIo, lineWriter } from './io.js';

export interface ConnectionFlags {
  portal?: string;
  tokenUrl?: string;
  client?: 'requestip' | 'referer' | 'ip';
  referer?: string;
  expiration?: number;
  tokenIn?: 'body' | 'header' | 'query';
  tokenCache?: string;
  passwordStdin?: boolean;
  passwordCommand?: string;
  quiet?: boolean;
  verbose?: boolean;
  logFile?: string;
  timeout?: number;
}

export function addConnectionOptions(command: Command): Command {
  return command
    .option('--portal <url>', 'portal or ArcGIS Online URL whose generateToken to use')
    .option('--token-url <url>', 'explicit generateToken endpoint (default: discovered from …/rest/info)')
    .option(
      '--client <type>',
      'token binding: requestip | referer | ip (default: requestip, referer with --referer)',
    )
    .option(
      '--referer <url>',
      'bind tokens to this Referer (client=referer): the token request sends it in its form body (not as a header; ' +
        'a federated server token exchange also sends it as its Referer header, as the portal token is bound to it); ' +
        'layer and service requests (metadata, queries) send it as the Referer header; rest/info discovery sends none',
    )
    .option(
      '--expiration <minutes>',
      'requested token lifetime in minutes (the server may cap it)',
      toPositiveInt,
      60,
    )
    .option('--token-in <place>', 'where the token goes: body | header | query', 'body')
    .option(
      '--timeout <seconds>',
      'give up on one request attempt after this long, even if bytes keep trickling in; a request that ' +
        'sends no byte for 60 s times out anyway; a timeout is retried at most twice',
      toPositiveInt,
      DEFAULT_TIMEOUTS.responseMs / 1000,
    )
    .option(
      '--token-cache <spec>',
      'token cache: memory | file[:PATH] | redis://host:port/db | redis (= REDIS_URL)',
      'memory',
    )
    .option('--password-stdin', 'read the password from standard input')
    .option('--password-command <cmd>', 'a command whose output is the password (or ARCGIS_PASSWORD_COMMAND)')
    .option('--log-file <file>', 'append every event (token refreshes, retries, …) as JSON lines, redacted')
    .option('-q, --quiet', 'print nothing but errors')
    .option('-v, --verbose', 'print every retry and cache event');
}

export function toPositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new EtlError('USAGE', `expected a positive integer, got "${value}"`);
  return n;
}

export function verbosityOf(flags: { quiet?: boolean; verbose?: boolean }): Verbosity {
  return flags.quiet ? 'quiet' : flags.verbose ? 'verbose' : 'normal';
}

function checkChoice<T extends string>(
  value: string | undefined,
  choices: readonly T[],
  flag: string,
): T | undefined {
  if (value === undefined) return undefined;
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new EtlError('USAGE', `--${flag} must be one of ${choices.join(', ')} (got "${value}")`);
}

/**
 * The emitter the CLI uses: events become stderr lines, and JSON lines in the log file (a path,
 * opened here, or an AuditLog opened by the command before any request).
 */
export function cliEmitter(
  io: CliIo,
  verbosity: Verbosity,
  before?: () => void,
  logFile?: string | AuditLog,
): Emit {
  const print = lineWriter(io.stderr);
  const log =
    typeof logFile === 'string' ? AuditLog.open(resolve(io.cwd, logFile), (line) => print(line)) : logFile;
  return createEmitter({
    ...(log ? { logger: fileLogger(log) } : {}),
    onEvent: (event) => {
      const line = eventLine(event, verbosity);
      if (line) {
        before?.();
        print(line);
      }
    },
  });
}

/** A pino logger appending JSON lines to the audit log (0600): the audit trail of a pipeline. */
function fileLogger(log: AuditLog): Logger {
  const { pino } = requireOnUse('pino') as typeof Pino;
  return pino({ base: null, level: 'debug', timestamp: pino.stdTimeFunctions.isoTime }, log);
}

export async function openConnection(
  url: string,
  flags: ConnectionFlags,
  io: CliIo,
  emit: Emit,
  runtime?: Partial<Runtime>,
): Promise<{ connection: Connection; credentials: CliCredentials }> {
  const client = checkChoice(flags.client, ['requestip', 'referer', 'ip'] as const, 'client');
  const tokenIn = checkChoice(flags.tokenIn, ['body', 'header', 'query'] as const, 'token-in');
  if (client === 'referer' && !flags.referer)
    throw new EtlError('USAGE', '--client referer needs --referer URL');
  const credentials = await resolveCredentials({
    env: io.env,
    stdin: io.stdin,
    passwordStdin: flags.passwordStdin === true,
    passwordCommand: flags.passwordCommand,
  });
  const connection = await connect({
    url,
    credentials:
      credentials.kind === 'password'
        ? { username: credentials.username, password: credentials.password }
        : credentials.kind === 'token'
          ? { token: credentials.token }
          : credentials.kind === 'apiKey'
            ? { apiKey: credentials.apiKey }
            : credentials.kind === 'oauth'
              ? { clientId: credentials.clientId, clientSecret: credentials.clientSecret }
              : undefined,
    portal: flags.portal,
    tokenUrl: flags.tokenUrl,
    client,
    referer: flags.referer,
    expirationMinutes: flags.expiration,
    tokenPlacement: tokenIn,
    tokenCache: flags.tokenCache === 'redis' ? (io.env.REDIS_URL ?? 'redis') : flags.tokenCache,
    ...(flags.timeout === undefined
      ? {}
      : { transportOptions: { timeouts: { responseMs: flags.timeout * 1000 } } }),
    emit,
    runtime,
  });
  return { connection, credentials };
}
