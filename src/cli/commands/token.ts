/**
 * `arcgis-etl token <server-or-portal-url>`: obtain (or reuse from the cache) a token and describe it.
 * The token itself is printed only with --print-token.
 */
import { Command } from 'commander';
import { EtlError } from '../../core/errors.js';
import type { Runtime } from '../../core/time.js';
import {
  addConnectionOptions,
  type ConnectionFlags,
  cliEmitter,
  openConnection,
  verbosityOf,
} from '../connection.js';
import { type CliIo, lineWriter } from '../io.js';

interface TokenFlags extends ConnectionFlags {
  json?: boolean;
  printToken?: boolean;
}

export function tokenCommand(
  io: CliIo,
  run: (task: Promise<number>) => void,
  runtime?: Partial<Runtime>,
): Command {
  const command = new Command('token')
    .description('get a token for a server or portal (cached per --token-cache) and show when it expires')
    .argument('<url>', 'server, service or portal URL')
    .option('--json', 'print JSON (without the token unless --print-token)')
    .option('--print-token', 'print the token itself on standard output (careful: it is a credential)');
  addConnectionOptions(command);
  command.action((url: string, flags: TokenFlags) => run(runToken(url, flags, io, runtime)));
  return command;
}

async function runToken(
  url: string,
  flags: TokenFlags,
  io: CliIo,
  runtime?: Partial<Runtime>,
): Promise<number> {
  const emit = cliEmitter(
    io,
    flags.json || flags.printToken ? 'quiet' : verbosityOf(flags),
    undefined,
    flags.logFile,
  );
  const { connection, credentials } = await openConnection(url, flags, io, emit, runtime);
  try {
    const auth = connection.auth;
    if (!auth) {
      if (credentials.kind === 'none') {
        throw new EtlError(
          'MISSING_CREDENTIALS',
          'no credentials: set ARCGIS_USERNAME and ARCGIS_PASSWORD (or ARCGIS_TOKEN)',
        );
      }
      throw new EtlError('USAGE', `${url} does not use token security: no token is needed`);
    }
    const token = await auth.getToken(url);
    if (token === undefined) throw new EtlError('FOREIGN_ORIGIN', 'the token is not valid for that URL');
    // what the token is for and until when (never the token itself, unless --print-token)
    const expiresAt = auth.expiresAt;
    const info = {
      tokenUrl: connection.tokenUrl ?? 'none (static token)',
      ...(isStatic(credentials.kind) ? { static: true } : {}),
      ...(credentials.kind === 'password' ? { username: credentials.username } : {}),
      expiresAt: expiresAt !== undefined && Number.isFinite(expiresAt) ? expiresAt : null,
    };
    const print = lineWriter(io.stdout);
    if (flags.json) {
      print(JSON.stringify({ ...info, ...(flags.printToken ? { token } : {}) }, null, 2));
    } else if (flags.printToken) {
      print(token);
    } else {
      print(`Token URL   ${info.tokenUrl}`);
      if (info.username) print(`User        ${info.username}`);
      print(
        `Expires     ${info.expiresAt === null ? (isStatic(credentials.kind) ? 'not known (a static token is used as given)' : 'unknown') : new Date(info.expiresAt).toISOString()}`,
      );
      print(`Source      ${sourceOf(credentials.kind, auth.stats)}`);
    }
    return 0;
  } finally {
    await connection.close();
  }
}

function isStatic(kind: string): boolean {
  return kind === 'token' || kind === 'apiKey';
}

/** Where the token came from: never "generated" for a static token or API key. */
function sourceOf(kind: string, stats: { sharedHits: number; generated: number }): string {
  if (kind === 'token') return 'static token (ARCGIS_TOKEN), never refreshed';
  if (kind === 'apiKey') return 'API key (ARCGIS_API_KEY), never refreshed';
  return stats.sharedHits > 0 ? 'token cache' : stats.generated > 0 ? 'generated now' : 'cache';
}
