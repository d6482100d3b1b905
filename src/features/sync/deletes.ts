/**
 * The deleted OIDs of an incremental run: a CSV with one column named after the OID field,
 * written to a temp file beside the target and renamed over it.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { EtlError } from '../../core/errors.js';

/** `<out>.deletes.csv` */
export function defaultDeletesPath(output: string): string {
  return `${output}.deletes.csv`;
}

export async function writeDeletes(path: string, oidField: string, oids: readonly number[]): Promise<void> {
  const header = /^[A-Za-z_][A-Za-z0-9_]*$/.test(oidField) ? oidField : 'OBJECTID';
  const text = `${header}\n${oids.map((o) => `${o}\n`).join('')}`;
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, text, { flag: 'wx' });
    await rename(temp, path);
  } catch (cause) {
    await rm(temp, { force: true });
    throw new EtlError('OUTPUT_ERROR', `Cannot write the deletes file ${path}`, { cause });
  }
}
