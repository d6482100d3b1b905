/**
 * `arcgis-etl worker --queue redis://… [--concurrency N]`: takes pipeline jobs from the queue until
 * SIGINT/SIGTERM (then finishes the jobs it runs; a second signal stops at once, and the queue
 * gives those jobs to another worker).
 */
import { Command } from 'commander';
import type { Runtime } from '../../core/time.js';
import type { FleetWorkerEvent } from '../../fleet/worker.js';
import { toPositiveInt } from '../connection.js';
import { type CliIo, lineWriter } from '../io.js';
import { addQueueOptions, type FleetFlags, queueUrlOf } from './fleet-options.js';

interface WorkerFlags extends FleetFlags {
  concurrency: number;
  maxConcurrency?: number;
  lockDuration: number;
  name?: string;
  quiet?: boolean;
}

export function workerCommand(
  io: CliIo,
  run: (task: Promise<number>) => void,
  waitForStop: () => Promise<void>,
  _runtime?: Partial<Runtime>,
): Command {
  const command = addQueueOptions(
    new Command('worker').description(
      'run pipeline jobs from a job queue (start one or more on any machines)',
    ),
  )
    .option('--concurrency <n>', 'jobs this worker runs at once', toPositiveInt, 1)
    .option(
      '--max-concurrency <n>',
      'requests this worker sends at once to one host (adaptive up to it; the host budget holds fleet-wide) (default: 16)',
      toPositiveInt,
    )
    .option(
      '--lock-duration <ms>',
      'a job whose worker stops answering for this long is given to another worker',
      toPositiveInt,
      30_000,
    )
    .option('--name <name>', 'the name `status` shows for this worker (default host:pid)')
    .option('-q, --quiet', 'no line per finished job');
  command.action((flags: WorkerFlags) => run(runWorker(flags, io, waitForStop)));
  return command;
}

async function runWorker(flags: WorkerFlags, io: CliIo, waitForStop: () => Promise<void>): Promise<number> {
  const url = queueUrlOf(flags.queue, io);
  const print = lineWriter(io.stderr);
  let lastError = '';
  const onEvent = (event: FleetWorkerEvent) => {
    if (event.type === 'error') {
      // an outage repeats its error at every reconnection attempt: one line per new message
      if (event.message !== lastError) print(`worker: ${event.message} (waiting for Redis)`);
      lastError = event.message;
      return;
    }
    lastError = '';
    if (flags.quiet) return;
    if (event.type === 'completed') {
      print(
        `done ${event.jobId}: ${event.features} features → ${event.output}${event.published ? '' : ' (already published)'}`,
      );
    } else {
      print(`${event.final ? 'failed' : 'will retry'} ${event.jobId}: ${event.reason}`);
    }
  };
  const { startFleetWorker } = await import('../../fleet/worker.js'); // BullMQ: loaded on use
  const worker = startFleetWorker({
    url,
    queueName: flags.queueName,
    concurrency: flags.concurrency,
    lockDurationMs: flags.lockDuration,
    ...(flags.maxConcurrency === undefined ? {} : { maxConcurrency: flags.maxConcurrency }),
    ...(flags.name ? { name: flags.name } : {}),
    env: io.env as NodeJS.ProcessEnv,
    onEvent,
  });
  await worker.ready();
  if (!flags.quiet) print(`worker ${worker.name} is taking jobs from ${flags.queueName}`);
  await waitForStop();
  if (!flags.quiet) print(`worker ${worker.name}: stopping after the running jobs`);
  await worker.close();
  return 0;
}
