/**
 * `arcgis-etl emulator`: serve the built-in ArcGIS REST emulator until stopped.
 */
import { Command } from 'commander';
import {
  describeEmulator,
  type EmulatorHandle,
  emulatorCommandOptions,
  startEmulator,
} from '../../emulator/index.js';
import { type CliIo, lineWriter } from '../io.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function emulatorCommand(
  io: CliIo,
  run: (task: Promise<number>) => void,
  waitForStop: (handle: EmulatorHandle) => Promise<void>,
): Command {
  return new Command('emulator')
    .description('serve a local ArcGIS REST emulator (tokens, services, query, faults) until stopped')
    .option('--port <port>', 'port (0 = any free port)', '8080')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--data <dir>', 'folder of GeoJSON files, one layer per file')
    .option(
      '--generate <spec>',
      'generated layer service:geometry:count[:seed], repeatable (point, polygon, …)',
      collect,
    )
    .option('--user <user:password>', 'a test account of the emulator, repeatable', collect)
    .option('--token-minutes <n>', 'default token lifetime in minutes', '60')
    .option('--max-token-minutes <n>', 'cap on the requested token lifetime', '1440')
    .option('--token-lifetime-seconds <n>', 'force every token to live this many seconds (tests)')
    .option('--max-record-count <n>', 'maxRecordCount of generated layers', '2000')
    .option('--prefix <path>', 'server path prefix', '/arcgis')
    .option('--unsecured', 'serve layers without token security')
    .option('--lockout-attempts <n>', 'bad passwords before an account locks', '5')
    .option('--clock-offset-ms <ms>', 'server clock skew in ms')
    .option('--seed <n>', 'seed for generated data and faults', '1')
    .option('--latency-ms <ms>', 'added latency per request')
    .option(
      '--fault <kind=rate>',
      'fault rate, repeatable: http429 http500 http502 http503 http504 reset truncate html',
      collect,
    )
    .option('--ignore-result-offset', 'answer resultOffset as if it were 0')
    .option('--extra-row', 'answer maxRecordCount + 1 rows on full pages')
    .option('--short-page-exceeded', 'cut pages short but say exceededTransferLimit')
    .action((flags: Record<string, unknown>) =>
      run(
        (async () => {
          const options = emulatorCommandOptions({
            port: flags.port as string,
            host: flags.host as string,
            ...(flags.data ? { data: flags.data as string } : {}),
            ...(flags.generate
              ? { generate: flags.generate as string[] }
              : { generate: ['parcels:mixed-polygon:20000', 'addresses:point:100000'] }),
            ...(flags.user ? { users: flags.user as string[] } : {}),
            tokenMinutes: flags.tokenMinutes as string,
            maxTokenMinutes: flags.maxTokenMinutes as string,
            ...(flags.tokenLifetimeSeconds
              ? { tokenLifetimeSeconds: flags.tokenLifetimeSeconds as string }
              : {}),
            maxRecordCount: flags.maxRecordCount as string,
            prefix: flags.prefix as string,
            ...(flags.unsecured ? { unsecured: true } : {}),
            lockoutAttempts: flags.lockoutAttempts as string,
            ...(flags.clockOffsetMs ? { clockOffsetMs: flags.clockOffsetMs as string } : {}),
            seed: flags.seed as string,
            ...(flags.latencyMs ? { latencyMs: flags.latencyMs as string } : {}),
            ...(flags.fault ? { faults: flags.fault as string[] } : {}),
            ...(flags.ignoreResultOffset ? { ignoreResultOffset: true } : {}),
            ...(flags.extraRow ? { extraRow: true } : {}),
            ...(flags.shortPageExceeded ? { shortPageExceeded: true } : {}),
          });
          const handle = await startEmulator(options);
          const print = lineWriter(io.stdout);
          for (const line of describeEmulator(handle)) print(line);
          if (!options.users?.length)
            print('Security       none (add --user name:password for token security)');
          print('Press Ctrl+C to stop.');
          await waitForStop(handle);
          await handle.stop();
          return 0;
        })(),
      ),
    );
}
