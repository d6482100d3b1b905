/**
 * One connection to the target database, with PostgreSQL's errors turned into EtlErrors that say
 * what to do (never a password: the driver reads PGPASSWORD or ~/.pgpass itself, and PGPASSWORD
 * is registered as a secret so that no message can show it).
 */
import type pg from 'pg';
import { EtlError } from '../../core/errors.js';
import { requireOnUse } from '../../core/lazy-require.js';
import { registerSecret } from '../../core/redact.js';
import type { PostgisTarget } from './target.js';

export interface Connected {
  client: pg.Client;
  /** The error that ended the connection, once it ended. */
  lost(): Error | undefined;
}

export async function connect(
  target: PostgisTarget,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Connected> {
  registerSecret(env.PGPASSWORD);
  const { host, port, user, database, ssl } = target.connection;
  const { Client } = requireOnUse('pg') as typeof pg;
  const client = new Client({
    host,
    port,
    user,
    database,
    ...(ssl === undefined ? {} : { ssl }),
    ...(env.PGPASSWORD === undefined ? {} : { password: env.PGPASSWORD }),
    application_name: 'arcgis-etl',
    keepAlive: true,
    connectionTimeoutMillis: 15_000,
  });
  let lost: Error | undefined;
  // an idle connection that drops emits 'error': kept for the next call, never an uncaught exception
  client.on('error', (error) => {
    lost ??= error;
  });
  client.on('end', () => {
    lost ??= new Error('the connection was closed');
  });
  try {
    await client.connect();
  } catch (cause) {
    await client.end().catch(() => {});
    throw connectError(cause, target);
  }
  return { client, lost: () => lost };
}

function connectError(cause: unknown, target: PostgisTarget): EtlError {
  const code = (cause as { code?: string } | undefined)?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  const { user, database } = target.connection;
  const where = target.display.replace(/\?.*$/, '');
  if (code === '28P01' || code === '28000') {
    return new EtlError(
      'BAD_CREDENTIALS',
      `PostgreSQL refused user ${user} at ${where} (${message}): check PGPASSWORD or ~/.pgpass`,
      { cause },
    );
  }
  if (/password must be a string|no password|password authentication/i.test(message)) {
    return new EtlError(
      'MISSING_CREDENTIALS',
      `PostgreSQL asks a password for user ${user} at ${where}: set PGPASSWORD, or add it to ~/.pgpass`,
      { cause },
    );
  }
  if (code === '3D000') {
    return new EtlError('USAGE', `The database ${database} does not exist at ${where}`, { cause });
  }
  return new EtlError('OUTPUT_ERROR', `Cannot connect to PostgreSQL at ${where}: ${message || code}`, {
    cause,
  });
}

/** A failed statement: what we were doing, and PostgreSQL's own words. */
export function queryError(cause: unknown, doing: string, lost: Error | undefined): EtlError {
  if (cause instanceof EtlError) return cause;
  if (lost !== undefined) {
    return new EtlError(
      'OUTPUT_ERROR',
      `The connection to PostgreSQL was lost while ${doing} (${lost.message})`,
      { cause },
    );
  }
  const e = cause as { message?: string; detail?: string; code?: string } | undefined;
  const message = e?.message ?? String(cause);
  const detail = e?.detail ? ` (${e.detail})` : '';
  return new EtlError('OUTPUT_ERROR', `PostgreSQL failed while ${doing}: ${message}${detail}`, { cause });
}
