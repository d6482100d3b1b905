/**
 * `arcgis-etl status --queue redis://… [--run ID] [--json]`: each recent run's layers — waiting,
 * running (which worker, features so far), done, failed (why) — and a total.
 */
import { Command } from 'commander';
import type { RunStatus } from '../../fleet/status.js';
import { toPositiveInt } from '../connection.js';
import { type CliIo, lineWriter } from '../io.js';
import { addQueueOptions, type FleetFlags, queueUrlOf } from './fleet-options.js';

interface StatusFlags extends FleetFlags {
  run?: string;
  runs: number;
  json?: boolean;
}

export function statusCommand(io: CliIo, run: (task: Promise<number>) => void): Command {
  const command = addQueueOptions(new Command('status').description('show the pipeline runs of a job queue'))
    .option('--run <id>', 'only this run (as `run --queue` printed it)')
    .option('--runs <n>', 'how many recent runs to show', toPositiveInt, 5)
    .option('--json', 'JSON on stdout instead of lines');
  command.action((flags: StatusFlags) => run(runStatusCommand(flags, io)));
  return command;
}

async function runStatusCommand(flags: StatusFlags, io: CliIo): Promise<number> {
  // the fleet (BullMQ) is loaded by the commands that use it, not at the CLI's start
  const { FleetQueue } = await import('../../fleet/coordinator.js');
  const { formatRunStatus } = await import('../../fleet/status.js');
  const fleet = await new FleetQueue(queueUrlOf(flags.queue, io), flags.queueName).open();
  try {
    let statuses: RunStatus[];
    if (flags.run) {
      const one = await fleet.status(flags.run);
      statuses = one ? [one] : [];
    } else {
      statuses = await fleet.statuses(flags.runs);
    }
    if (flags.json) {
      io.stdout.write(`${JSON.stringify({ queue: flags.queueName, runs: statuses }, null, 2)}\n`);
      return 0;
    }
    const print = lineWriter(io.stdout);
    if (statuses.length === 0) print(flags.run ? `No run ${flags.run} in ${flags.queueName}` : 'No runs');
    for (const status of statuses) for (const line of formatRunStatus(status)) print(line);
    return 0;
  } finally {
    await fleet.close();
  }
}
