/**
 * Resume checkpoints: `<output>.checkpoint.json`, written atomically (temp file + rename) after each
 * written page. It says which export it belongs to, how far the partial output goes (bytes,
 * features) and the last OID written (output is in OID order), so a resumed run continues with
 * `OID > lastOid` and never fetches a written page again.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { EtlError } from '../core/errors.js';
import type { WriterFormat } from './writers/types.js';

export const CHECKPOINT_VERSION = 1;

/** What identifies an export: a checkpoint is only used by the same export. */
export interface ExportIdentity {
  layerUrl: string;
  where: string;
  fields: string[];
  format: WriterFormat;
  outSR: string;
  /** At most this many features (absent: every feature). */
  limit?: number | undefined;
  /** CSV written with the spreadsheet formula guard (absent: as the data came). */
  csvExcelSafe?: boolean | undefined;
  /** The spatial filter's query parameters, as JSON (absent: none). */
  spatialFilter?: string | undefined;
  /** The geometry options' query parameters, as JSON (absent: geometry as stored). */
  geometry?: string | undefined;
  /** --domains label|both (absent: codes). */
  domains?: string | undefined;
  /** --dates iso (absent: epoch milliseconds). */
  dates?: string | undefined;
  /** --aliases (CSV headers; absent: field names). */
  aliases?: boolean | undefined;
}

export interface Checkpoint extends ExportIdentity {
  version: number;
  /** The strategy that wrote the pages so far (informative: any ordered strategy continues). */
  strategy: string;
  bytes: number;
  features: number;
  /** Last OID written; null before the first page. */
  lastOid: number | null;
  /**
   * The partial output's file name (a random name in the output's folder). Absent in older
   * checkpoints, whose partial output is `<output>.partial`.
   */
  partial?: string | undefined;
}

/** The partial output a checkpoint of `output` names; only a plain file name in the same folder. */
export function partialPathOf(output: string, checkpoint: Checkpoint): string {
  const name = checkpoint.partial ?? `${basename(output)}.partial`;
  return join(dirname(output), name);
}

export function checkpointPath(output: string): string {
  return `${output}.checkpoint.json`;
}

/** The checkpoint, or undefined when there is none. A damaged file is CHECKPOINT_INVALID. */
export async function readCheckpoint(path: string): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EtlError('CHECKPOINT_INVALID', `Cannot read the checkpoint ${path}`, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new EtlError('CHECKPOINT_INVALID', `The checkpoint ${path} is not valid JSON`, { cause });
  }
  if (!isCheckpoint(value)) {
    throw new EtlError(
      'CHECKPOINT_INVALID',
      `The checkpoint ${path} is not a version ${CHECKPOINT_VERSION} checkpoint`,
    );
  }
  return value;
}

function isCheckpoint(v: unknown): v is Checkpoint {
  if (!v || typeof v !== 'object') return false;
  const c = v as Record<string, unknown>;
  return (
    c.version === CHECKPOINT_VERSION &&
    typeof c.layerUrl === 'string' &&
    typeof c.where === 'string' &&
    Array.isArray(c.fields) &&
    c.fields.every((f) => typeof f === 'string') &&
    typeof c.format === 'string' &&
    typeof c.outSR === 'string' &&
    typeof c.strategy === 'string' &&
    Number.isSafeInteger(c.bytes) &&
    Number.isSafeInteger(c.features) &&
    (c.lastOid === null || Number.isSafeInteger(c.lastOid)) &&
    (c.partial === undefined || isPlainName(c.partial)) &&
    (c.limit === undefined || Number.isSafeInteger(c.limit)) &&
    (c.csvExcelSafe === undefined || typeof c.csvExcelSafe === 'boolean') &&
    (c.spatialFilter === undefined || typeof c.spatialFilter === 'string') &&
    (c.geometry === undefined || typeof c.geometry === 'string') &&
    (c.domains === undefined || typeof c.domains === 'string') &&
    (c.dates === undefined || typeof c.dates === 'string') &&
    (c.aliases === undefined || typeof c.aliases === 'boolean')
  );
}

/** A file name without a folder (a checkpoint cannot point outside the output's folder). */
function isPlainName(v: unknown): boolean {
  return typeof v === 'string' && v !== '' && v !== '.' && v !== '..' && !/[/\\\0]/.test(v);
}

/** Writes atomically: a crash leaves the old checkpoint or the new one, never half of one. */
export async function writeCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  // a fresh name, created exclusively: a file or link planted beside it is never written through
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, `${JSON.stringify(checkpoint)}\n`, { mode: 0o600, flag: 'wx' });
    await rename(temp, path);
  } catch (cause) {
    await rm(temp, { force: true }).catch(() => {});
    throw new EtlError('OUTPUT_ERROR', `Cannot write the checkpoint ${path}`, { cause });
  }
}

export async function deleteCheckpoint(path: string): Promise<void> {
  await rm(path, { force: true });
  await rm(`${path}.tmp`, { force: true });
}

/** Names the first difference between a checkpoint and this export, or undefined when they match. */
export function checkpointMismatch(checkpoint: Checkpoint, identity: ExportIdentity): string | undefined {
  for (const key of ['layerUrl', 'where', 'format', 'outSR'] as const) {
    if (checkpoint[key] !== identity[key]) return `${key} differs`;
  }
  if (checkpoint.fields.join(',') !== identity.fields.join(',')) return 'fields differ';
  if (checkpoint.limit !== identity.limit) return 'limit differs';
  if ((checkpoint.csvExcelSafe ?? false) !== (identity.csvExcelSafe ?? false)) return 'csvExcelSafe differs';
  if (checkpoint.spatialFilter !== identity.spatialFilter) return 'spatial filter differs';
  if (checkpoint.geometry !== identity.geometry) return 'geometry options differ';
  if (checkpoint.domains !== identity.domains) return 'domains differ';
  if (checkpoint.dates !== identity.dates) return 'dates differ';
  if ((checkpoint.aliases ?? false) !== (identity.aliases ?? false)) return 'aliases differ';
  if (checkpoint.features > 0 && checkpoint.lastOid === null) return 'no last OID';
  return undefined;
}
