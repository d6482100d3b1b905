/**
 * `arcgis-etl login --portal URL --client-id ID`: OAuth 2.0 sign-in in the browser (authorization
 * code + PKCE, loopback redirect). The refresh token is saved in the token cache (default: the file
 * cache, encrypted when ARCGIS_ETL_CACHE_KEY is set); later commands given `--portal URL` and
 * ARCGIS_CLIENT_ID (no secret) and the same cache then run without a password.
 */
import { Command } from 'commander';
import { loginWithBrowser, type OpenBrowser } from '../../auth/oauth-login.js';
import { EtlError } from '../../core/errors.js';
import type { Runtime } from '../../core/time.js';
import { createTransport } from '../../http/transport.js';
import { createTokenStore } from '../../stores/index.js';
import { toPositiveInt } from '../connection.js';
import { type CliIo, lineWriter } from '../io.js';

interface LoginFlags {
  portal: string;
  clientId?: string;
  tokenCache: string;
  expiration?: number;
  timeout: number;
  port: number;
}

export function loginCommand(
  io: CliIo,
  run: (task: Promise<number>) => void,
  runtime?: Partial<Runtime>,
  openBrowser?: OpenBrowser,
): Command {
  const command = new Command('login')
    .description('sign in with OAuth 2.0 in a browser and save the sign-in in the token cache')
    .requiredOption('--portal <url>', 'portal or ArcGIS Online URL')
    .option('--client-id <id>', 'the OAuth app client id (or ARCGIS_CLIENT_ID)')
    .option('--token-cache <spec>', 'where the sign-in is saved: file | file:PATH | redis://…', 'file')
    .option(
      '--expiration <minutes>',
      'how long the sign-in should last (the portal may cap it)',
      toPositiveInt,
    )
    .option('--timeout <seconds>', 'how long to wait for the browser', toPositiveInt, 300)
    .option(
      '--port <port>',
      'port of the loopback listener that receives the redirect (0 = any free port; fix one to forward it over ssh)',
      toPort,
      0,
    )
    .addHelpText('after', HEADLESS_HELP);
  command.action((flags: LoginFlags) => run(runLogin(flags, io, runtime, openBrowser)));
  return command;
}

/** How to sign in from a machine without a browser (also in the README). */
export const HEADLESS_HELP = `
No browser on this machine (a server, a container, an ssh session)? login never opens one itself:
  1. run login with a fixed port, e.g. --port 8765: it prints the sign-in URL and waits
  2. open that URL in a browser on any machine and sign in
  3. the browser is then sent to http://127.0.0.1:8765/callback?code=…&state=…, which must reach
     this machine: either forward the port before signing in (ssh -L 8765:127.0.0.1:8765 this-host),
     or copy that address from the browser's address bar and request it here:
       curl 'http://127.0.0.1:8765/callback?code=…&state=…'
The code is single-use and bound to this login (PKCE and state): it is useless to anyone else.`;

function toPort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) {
    throw new EtlError('USAGE', `--port must be a port number 0-65535, got "${value}"`);
  }
  return n;
}

export function clientIdOf(flags: { clientId?: string }, io: CliIo): string {
  const clientId = flags.clientId ?? io.env.ARCGIS_CLIENT_ID?.trim();
  if (!clientId) throw new EtlError('USAGE', 'give --client-id ID (or set ARCGIS_CLIENT_ID)');
  return clientId;
}

export function cacheSpecOf(spec: string, io: CliIo): string {
  if (spec === 'memory' || spec === '') {
    throw new EtlError(
      'USAGE',
      'a sign-in saved in memory would be lost at once: use --token-cache file or redis',
    );
  }
  return spec === 'redis' ? (io.env.REDIS_URL ?? 'redis') : spec;
}

async function runLogin(
  flags: LoginFlags,
  io: CliIo,
  runtime: Partial<Runtime> | undefined,
  openBrowser: OpenBrowser | undefined,
): Promise<number> {
  const clientId = clientIdOf(flags, io);
  const print = lineWriter(io.stderr);
  const transport = createTransport(runtime ? { runtime } : {});
  const store = createTokenStore(cacheSpecOf(flags.tokenCache, io), {
    ...(runtime ? { runtime } : {}),
    env: io.env as NodeJS.ProcessEnv,
    ...(io.env.ARCGIS_ETL_CACHE_KEY ? { key: io.env.ARCGIS_ETL_CACHE_KEY } : {}),
  });
  try {
    const result = await loginWithBrowser({
      portal: flags.portal,
      clientId,
      transport,
      store,
      timeoutMs: flags.timeout * 1000,
      port: flags.port,
      ...(flags.expiration === undefined ? {} : { expirationMinutes: flags.expiration }),
      ...(runtime ? { runtime } : {}),
      openBrowser:
        openBrowser ??
        ((url) => {
          print('Open this URL in a browser to sign in:');
          print(`  ${url}`);
          print('Waiting for the sign-in to finish (Ctrl-C to cancel)…');
        }),
    });
    lineWriter(io.stdout)(
      `Signed in to ${result.portalUrl}${result.username ? ` as ${result.username}` : ''} (client ${clientId}); ` +
        `the sign-in is saved until ${new Date(result.refreshTokenExpiresAt).toISOString()}`,
    );
    return 0;
  } finally {
    await Promise.allSettled([store.close(), transport.close()]);
  }
}
