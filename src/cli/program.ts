/**
 * The declarative command tree. `runCli(argv, io)` resolves to an exit code and never calls
 * process.exit, so every command is testable in-process.
 */
import { Command, CommanderError } from 'commander';
import { redact } from '../core/redact.js';
import type { Runtime } from '../core/time.js';
import type { EmulatorHandle } from '../emulator/types.js';
import { refuseSecretFlags, scrubParserMessage } from './argv-guard.js';
import { bulkCommand } from './commands/bulk.js';
import { demoCommand } from './commands/demo.js';
import { emulatorCommand } from './commands/emulator.js';
import { exportCommand } from './commands/export.js';
import { infoCommand } from './commands/info.js';
import { loginCommand } from './commands/login.js';
import { logoutCommand } from './commands/logout.js';
import { runCommand } from './commands/run.js';
import { statusCommand } from './commands/status.js';
import { tokenCommand } from './commands/token.js';
import { workerCommand } from './commands/worker.js';
import { EXIT, errorLine, exitCodeFor } from './errors.js';
import type { CliIo } from './io.js';

export const VERSION = '0.1.0';

export interface RunOptions {
  runtime?: Partial<Runtime>;
  /** How `emulator` waits before stopping (default: until SIGINT/SIGTERM). */
  waitForStop?: (handle: EmulatorHandle) => Promise<void>;
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

export async function runCli(argv: readonly string[], io: CliIo, options: RunOptions = {}): Promise<number> {
  const write = (s: string) => io.stderr.write(s);
  try {
    refuseSecretFlags(argv);
  } catch (error) {
    write(`${errorLine(error)}\n`);
    return EXIT.usage;
  }
  let task: Promise<number> | undefined;
  const run = (t: Promise<number>) => {
    t.catch(() => {}); // awaited below; this only keeps an early rejection from counting as unhandled
    task = t;
  };
  const program = new Command('arcgis-etl')
    .description('Authenticated ArcGIS REST pipelines: tokens done right, every feature exactly once.')
    .version(VERSION, '--version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => write(scrubParserMessage(redact(s))),
      outputError: (s, w) => w(scrubParserMessage(redact(s))),
    })
    .exitOverride()
    .addHelpText(
      'after',
      `
Credentials come from the environment only:
  ARCGIS_USERNAME + ARCGIS_PASSWORD (or ARCGIS_PASSWORD_COMMAND, or --password-stdin)
  ARCGIS_TOKEN or ARCGIS_API_KEY for a static token
  ARCGIS_CLIENT_ID + ARCGIS_CLIENT_SECRET for OAuth app credentials (with --portal)
  ARCGIS_CLIENT_ID alone: the sign-in saved by \`arcgis-etl login\` (with --portal and the same --token-cache)
  ARCGIS_ETL_CACHE_KEY encrypts the file and Redis token caches
Exit codes: 0 ok, 1 failure, 2 usage, 3 authentication, 4 not found, 5 incomplete export, 130 interrupted.`,
    );
  const commands = [
    exportCommand(io, run, options.runtime),
    bulkCommand(io, run, options.runtime),
    runCommand(io, run, options.runtime),
    infoCommand(io, run, options.runtime),
    tokenCommand(io, run, options.runtime),
    demoCommand(io, run, options.runtime),
    emulatorCommand(io, run, options.waitForStop ?? untilSignal),
    loginCommand(io, run, options.runtime),
    logoutCommand(io, run, options.runtime),
    workerCommand(io, run, untilSignal, options.runtime),
    statusCommand(io, run),
  ];
  for (const command of commands) {
    command.exitOverride().configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => write(scrubParserMessage(redact(s))),
      outputError: (s, w) => w(scrubParserMessage(redact(s))),
    });
    program.addCommand(command);
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    if (!task) {
      program.outputHelp();
      return EXIT.usage;
    }
    return await task;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
      if (error.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    write(`${errorLine(error)}\n`);
    return exitCodeFor(error);
  }
}
