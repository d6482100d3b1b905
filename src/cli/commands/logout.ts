/**
 * `arcgis-etl logout --portal URL --client-id ID`: revokes the saved refresh token
 * (oauth2/revokeToken) and removes the sign-in from the token cache.
 */
import { Command } from 'commander';
import { logout } from '../../auth/oauth-logout.js';
import type { Runtime } from '../../core/time.js';
import { createTransport } from '../../http/transport.js';
import { createTokenStore } from '../../stores/index.js';
import { type CliIo, lineWriter } from '../io.js';
import { cacheSpecOf, clientIdOf } from './login.js';

interface LogoutFlags {
  portal: string;
  clientId?: string;
  tokenCache: string;
}

export function logoutCommand(
  io: CliIo,
  run: (task: Promise<number>) => void,
  runtime?: Partial<Runtime>,
): Command {
  const command = new Command('logout')
    .description('revoke the saved OAuth sign-in and remove it from the token cache')
    .requiredOption('--portal <url>', 'portal or ArcGIS Online URL')
    .option('--client-id <id>', 'the OAuth app client id (or ARCGIS_CLIENT_ID)')
    .option('--token-cache <spec>', 'where the sign-in is saved: file | file:PATH | redis://…', 'file');
  command.action((flags: LogoutFlags) => run(runLogout(flags, io, runtime)));
  return command;
}

async function runLogout(
  flags: LogoutFlags,
  io: CliIo,
  runtime: Partial<Runtime> | undefined,
): Promise<number> {
  const clientId = clientIdOf(flags, io);
  const transport = createTransport(runtime ? { runtime } : {});
  const store = createTokenStore(cacheSpecOf(flags.tokenCache, io), {
    ...(runtime ? { runtime } : {}),
    env: io.env as NodeJS.ProcessEnv,
    ...(io.env.ARCGIS_ETL_CACHE_KEY ? { key: io.env.ARCGIS_ETL_CACHE_KEY } : {}),
  });
  try {
    const result = await logout({ portal: flags.portal, clientId, transport, store });
    const print = lineWriter(io.stdout);
    if (!result.hadSession)
      print(`No saved sign-in for client ${clientId} at ${flags.portal}: nothing to revoke`);
    else {
      print(
        `Signed out${result.username ? ` ${result.username}` : ''}: the refresh token was ${result.revoked ? 'revoked' : 'sent for revocation'} and removed from the token cache`,
      );
    }
    return 0;
  } finally {
    await Promise.allSettled([store.close(), transport.close()]);
  }
}
