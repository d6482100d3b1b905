/**
 * The deleted OIDs of an incremental run: a CSV with one column named after the OID field,
 * written to a temp file beside the target and renamed over it; or (`--deletes inline`, GeoJSONSeq)
 * rows `{"type":"Feature","id":oid,"geometry":null,"properties":{"<oid field>":oid,"_op":"delete"}}`
 * after the inserted and updated features.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, rename, rm, writeFile } from 'node:fs/promises';
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

/** The `_op` value of a deleted row in a GeoJSONSeq change output. */
export const DELETE_OP = 'delete';

/** One GeoJSONSeq line of a deleted OID. */
export function deleteRow(oidField: string, oid: number): string {
  return JSON.stringify({
    type: 'Feature',
    id: oid,
    geometry: null,
    properties: { [oidField]: oid, _op: DELETE_OP },
  });
}

/** Appends the deleted rows to a GeoJSONSeq file (the unpublished temp output of the run). */
export async function appendDeleteRows(
  path: string,
  oidField: string,
  oids: readonly number[],
): Promise<void> {
  if (oids.length === 0) return;
  try {
    for (let i = 0; i < oids.length; i += 10_000) {
      await appendFile(
        path,
        oids
          .slice(i, i + 10_000)
          .map((o) => `${deleteRow(oidField, o)}\n`)
          .join(''),
      );
    }
  } catch (cause) {
    throw new EtlError('OUTPUT_ERROR', `Cannot write the deleted rows to ${path}`, { cause });
  }
}
