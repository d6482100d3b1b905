/**
 * The options every fleet command shares: `--queue redis://…` (or `redis` for $REDIS_URL) and
 * `--queue-name`.
 */
import type { Command } from 'commander';
import { EtlError } from '../../core/errors.js';
import { DEFAULT_QUEUE_NAME } from '../../fleet/job-data.js';
import { checkRedisUrl } from '../../fleet/redis.js';
import type { CliIo } from '../io.js';

export interface FleetFlags {
  queue: string;
  queueName: string;
}

export function addQueueOptions(command: Command, required = true): Command {
  const description =
    'the job queue: redis://[user:pass@]host:port/db, rediss://…, or `redis` for $REDIS_URL';
  return (
    required
      ? command.requiredOption('--queue <url>', description)
      : command.option('--queue <url>', description)
  ).option(
    '--queue-name <name>',
    'the queue within that Redis (several fleets can share one Redis)',
    DEFAULT_QUEUE_NAME,
  );
}

/** The Redis URL of `--queue` (`redis` reads REDIS_URL). */
export function queueUrlOf(spec: string, io: CliIo): string {
  const value = spec.trim();
  if (value === 'redis') {
    const url = io.env.REDIS_URL;
    if (!url) throw new EtlError('USAGE', '--queue redis needs REDIS_URL (or give redis://HOST:PORT/DB)');
    checkRedisUrl(url);
    return url;
  }
  checkRedisUrl(value);
  return value;
}
