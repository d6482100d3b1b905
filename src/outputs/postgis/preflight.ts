/**
 * The checks a PostGIS output gets before any request to the layer (as a file output is claimed
 * first): the URL, the server and login, the schema, the mode against the table (create: it must
 * not exist), and that no other export is writing it. The writer takes the lock and checks again.
 */
import { EtlError } from '../../core/errors.js';
import { connect, queryError } from './connect.js';
import type { PostgisOptions } from './options.js';
import type { PostgisTarget } from './target.js';
import { postgisTargetOf } from './writer.js';

export async function checkPostgisTarget(
  output: string,
  options: PostgisOptions = {},
): Promise<PostgisTarget> {
  const target = postgisTargetOf(output, options);
  const mode = options.mode ?? 'create';
  const { client, lost } = await connect(target, options.env ?? process.env);
  const shown = `${target.schema}.${target.table}`;
  try {
    const query = async (doing: string, text: string, values: unknown[]) => {
      try {
        return (await client.query(text, values)).rows as Record<string, unknown>[];
      } catch (cause) {
        throw queryError(cause, doing, lost());
      }
    };
    const schema = await query('checking the schema', 'SELECT 1 FROM pg_namespace WHERE nspname = $1', [
      target.schema,
    ]);
    if (schema.length === 0) {
      throw new EtlError(
        'USAGE',
        `The schema "${target.schema}" does not exist: create it (CREATE SCHEMA), or choose another`,
      );
    }
    const rel = await query(
      'reading the target',
      `SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relname = $2`,
      [target.schema, target.table],
    );
    const kind = rel[0]?.relkind;
    if (kind !== undefined && kind !== 'r' && kind !== 'p') {
      throw new EtlError('USAGE', `${shown} exists and is not a table (a view or another relation)`);
    }
    if (kind !== undefined && mode === 'create') {
      throw new EtlError(
        'USAGE',
        `The table ${shown} already exists: choose --mode replace (replace it), append or upsert, or another table`,
      );
    }
    const key = ['arcgis-etl', JSON.stringify([target.schema, target.table])];
    const free = await query(
      'locking the target',
      'SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS locked',
      key,
    );
    if (free[0]?.locked !== true) {
      throw new EtlError(
        'OUTPUT_BUSY',
        `The table ${shown} is being written by another export (${target.display}); wait for it to end`,
      );
    }
    await query('unlocking the target', 'SELECT pg_advisory_unlock(hashtext($1), hashtext($2))', key);
  } finally {
    await client.end().catch(() => {});
  }
  return target;
}
