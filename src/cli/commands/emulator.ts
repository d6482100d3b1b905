/**
 * `arcgis-etl emulator`: serve the built-in ArcGIS REST emulator until stopped.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { EtlError } from '../../core/errors.js';
import {
  apiKeysFrom,
  describeEmulator,
  type EmulatorCliFlags,
  emulatorCommandOptions,
} from '../../emulator/cli.js';
import type { EmulatorHandle } from '../../emulator/types.js';
import { type CliIo, lineWriter } from '../io.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Test API keys of the emulator, comma-separated (never a flag: the argv guard refuses secrets there). */
export const API_KEYS_ENV = 'ARCGIS_EMULATOR_API_KEYS';

function readKeyFile(file: string | undefined, cwd: string): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(resolve(cwd, file), 'utf8');
  } catch (cause) {
    throw new EtlError('USAGE', `--api-key-file: cannot read ${file}`, { cause });
  }
}

/** Layers served when neither --data nor --generate is given. */
export const DEFAULT_LAYERS = ['parcels:mixed-polygon:20000', 'addresses:point:100000'];

export function emulatorCommand(
  io: CliIo,
  run: (task: Promise<number>) => void,
  waitForStop: (handle: EmulatorHandle) => Promise<void>,
): Command {
  return new Command('emulator')
    .description('serve a local ArcGIS REST emulator (tokens, OAuth, services, query, faults) until stopped')
    .option('--port <port>', 'port (0 = any free port)', '8080')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--data <dir>', 'folder of GeoJSON files, one layer per file')
    .option(
      '--generate <spec>',
      `generated layer service:geometry:count[:seed], repeatable (default ${DEFAULT_LAYERS.join(' ')})`,
      collect,
    )
    .option(
      '--user <user:password>',
      'a test account of the emulator (turns token security on), repeatable',
      collect,
    )
    .option('--app <spec>', 'an OAuth app id[:secret]@redirect-uri[,uri], repeatable', collect)
    .option(
      '--api-key-file <file>',
      `API keys accepted on the layers, one per line (or ${API_KEYS_ENV}, comma-separated; keys are never flags)`,
    )
    .option('--token-minutes <n>', 'default token lifetime in minutes', '60')
    .option('--max-token-minutes <n>', 'cap on the requested token lifetime', '1440')
    .option('--token-lifetime-seconds <n>', 'force every token to live this many seconds (tests)')
    .option('--refresh-token-lifetime-seconds <n>', 'OAuth refresh token lifetime in seconds')
    .option('--max-record-count <n>', 'maxRecordCount of generated layers', '2000')
    .option('--prefix <path>', 'server path prefix', '/arcgis')
    .option('--portal-prefix <path>', 'portal path prefix', '/portal')
    .option('--unsecured', 'serve generated layers without token security')
    .option(
      '--read-only',
      'generated layers are read-only (default: editable as ArcGIS Online hosted layers are: applyEdits, editFieldsInfo, extractChanges, attachments)',
    )
    .option('--editable', 'generated layers are editable (the default; kept for scripts)')
    .option('--federation', 'federate the server to the emulated portal (server tokens by exchange only)')
    .option('--owning-system-url <url>', 'claim another owning portal (to test NOT_FEDERATED)')
    .option('--legacy', 'behave like ArcGIS Server 10.0 (no currentVersion, plain-text getToken)')
    .option('--lockout-attempts <n>', 'bad passwords before an account locks', '5')
    .option('--clock-offset-ms <ms>', 'server clock skew in ms')
    .option('--seed <n>', 'seed for generated data and faults', '1')
    .option('--latency-ms <ms>', 'added latency per request (part of the service time of a query)')
    .option(
      '--ms-per-1000-features <ms>',
      'service time per 1,000 features answered, building the answer included (larger pages take longer)',
    )
    .option(
      '--capacity <n>',
      'service instances: queries served at once, the others queue (default unlimited)',
    )
    .option(
      '--queue-limit <n>',
      'queries that may queue for an instance; beyond, refused (default unlimited)',
    )
    .option(
      '--refuse-status <status>',
      'status of a query refused beyond the queue: 429 (Retry-After) or 503',
      '429',
    )
    .option(
      '--fault <kind=rate>',
      'fault rate, repeatable: http429 http500 http502 http503 http504 reset truncate html',
      collect,
    )
    .option('--fault-scope <scope>', 'faults apply to query (default) or all routes')
    .option('--retry-after-seconds <n>', 'Retry-After sent with 429')
    .option('--ignore-result-offset', 'answer resultOffset as if it were 0')
    .option('--extra-row', 'answer maxRecordCount + 1 rows on full pages')
    .option('--short-page-exceeded', 'cut pages short but say exceededTransferLimit')
    .option('--fail-above <n>', 'queries returning more features than this fail with 500')
    .option('--ignore-order-by', 'ignore orderByFields on the OID: serve rows in a shuffled file order')
    .option('--page-cap <n>', 'cap feature pages at n rows without exceededTransferLimit')
    .option('--empty-statistics', 'answer outStatistics with {}')
    .option('--offset-depth <n>', 'honour resultOffset only up to n (deeper: an empty page)')
    .option('--null-geometries <share>', 'share (0..1) of generated features with a null geometry')
    .option(
      '--job-ms <ms>',
      'export jobs (createReplica async, item exports) run this long on the server clock (default 0)',
    )
    .action((opts: Record<string, unknown>) =>
      run(
        (async () => {
          const { user, app, apiKeyFile, fault, generate, data, ...rest } = opts;
          const apiKey = apiKeysFrom(
            readKeyFile(apiKeyFile as string | undefined, io.cwd),
            io.env[API_KEYS_ENV],
          );
          const flags = {
            ...rest,
            ...(data ? { data } : {}),
            generate: (generate as string[] | undefined) ?? (data ? [] : DEFAULT_LAYERS),
            ...(user ? { users: user } : {}),
            ...(app ? { apps: app } : {}),
            ...(apiKey.length > 0 ? { apiKeys: apiKey } : {}),
            ...(fault ? { faults: fault } : {}),
          } as EmulatorCliFlags;
          const options = emulatorCommandOptions(flags);
          // the emulator's server is loaded by the commands that start it, not at the CLI's start
          const { startEmulator } = await import('../../emulator/index.js');
          const handle = await startEmulator(options);
          const print = lineWriter(io.stdout);
          for (const line of describeEmulator(handle)) print(line);
          if (!options.users?.length && !options.apps?.length && !options.apiKeys?.length) {
            print('Security       none (add --user name:password for token security)');
          }
          print('Press Ctrl+C to stop.');
          await waitForStop(handle);
          await handle.stop();
          return 0;
        })(),
      ),
    );
}
