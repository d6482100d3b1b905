/**
 * The sync state file: where the last run left off, as the server reported it (a serverGen, or
 * the largest edit date on the server's clock with the OIDs already taken at that instant), and
 * the OIDs the output holds (edit tracking: deletes are found by their absence). Replaced
 * atomically (temp file + rename), and only after the run succeeded.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { EtlError } from '../../core/errors.js';

export const SYNC_STATE_VERSION = 1;

export type SyncMode = 'changes' | 'editDate';

export interface SyncState {
  version: number;
  layerUrl: string;
  mode: SyncMode;
  /** changes: the layer's serverGen the output is up to date with. */
  serverGen?: number;
  /** editDate: the editDateField name. */
  editDateField?: string;
  /** editDate: the largest edit date on the server when the run started (server clock, epoch ms). */
  highWater?: number | null;
  /** The same, readable. */
  highWaterIso?: string | null;
  /** editDate: OIDs whose edit date equals highWater, already in the output. */
  boundaryOids?: number[];
  /** editDate: the OIDs the output holds, as [first, last] ranges. */
  oidRanges?: [number, number][];
  /** The where clause the output was made with. */
  where: string;
  /** The spatial filter (--bbox/--geometry) the output was made with, as its query parameters. */
  filter?: string;
}

/** The state, or undefined when the file does not exist; SYNC_STATE_INVALID when unreadable. */
export async function readSyncState(path: string): Promise<SyncState | undefined> {
  const state = await readStateJson(path);
  if (state === undefined) return undefined;
  if (!isSyncState(state))
    throw new EtlError('SYNC_STATE_INVALID', `The state file ${path} is not a sync state of this version`);
  return state;
}

/**
 * A whole service's state (`export <…/FeatureServer> -o dir/ --state FILE`): one layer state per
 * layer, by layer id, replaced whole only after every layer of the run succeeded.
 */
export interface ServiceSyncState {
  version: number;
  serviceUrl: string;
  layers: Record<string, SyncState>;
}

/** The service's state, or undefined when the file does not exist; SYNC_STATE_INVALID when unreadable. */
export async function readServiceSyncState(path: string): Promise<ServiceSyncState | undefined> {
  const state = await readStateJson(path);
  if (state === undefined) return undefined;
  const s = state as Partial<ServiceSyncState> | null;
  const valid =
    s !== null &&
    typeof s === 'object' &&
    s.version === SYNC_STATE_VERSION &&
    typeof s.serviceUrl === 'string' &&
    typeof s.layers === 'object' &&
    s.layers !== null &&
    Object.values(s.layers).every(isSyncState);
  if (!valid) {
    throw new EtlError(
      'SYNC_STATE_INVALID',
      `The state file ${path} is not a service's sync state of this version${isSyncState(state) ? " (it is a layer's: give its layer URL)" : ''}`,
    );
  }
  return s as ServiceSyncState;
}

async function readStateJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EtlError('SYNC_STATE_INVALID', `Cannot read the state file ${path}`, { cause: error });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new EtlError('SYNC_STATE_INVALID', `The state file ${path} is not JSON`, { cause });
  }
}

/** Whether a parsed value is a layer's sync state of this version. */
export function isSyncState(value: unknown): value is SyncState {
  const s = value as Partial<SyncState> | null;
  return (
    s !== null &&
    typeof s === 'object' &&
    s.version === SYNC_STATE_VERSION &&
    typeof s.layerUrl === 'string' &&
    typeof s.where === 'string' &&
    ((s.mode === 'changes' && Number.isSafeInteger(s.serverGen)) ||
      (s.mode === 'editDate' &&
        typeof s.editDateField === 'string' &&
        (s.highWater === null || typeof s.highWater === 'number') &&
        Array.isArray(s.boundaryOids)))
  );
}

/** Writes the state (a layer's, or a service's) to a temp file beside it, then renames it over the old one. */
export async function writeSyncState(path: string, state: SyncState | ServiceSyncState): Promise<void> {
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, `${JSON.stringify(state)}\n`, { flag: 'wx' });
    await rename(temp, path);
  } catch (cause) {
    await rm(temp, { force: true });
    throw new EtlError('OUTPUT_ERROR', `Cannot write the state file ${path}`, { cause });
  }
}

/** Sorted OIDs → [first, last] ranges of consecutive OIDs. */
export function toRanges(sorted: ArrayLike<number>): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < sorted.length; i++) {
    const oid = sorted[i]!;
    const last = out[out.length - 1];
    if (last && oid === last[1] + 1) last[1] = oid;
    else if (!last || oid > last[1]) out.push([oid, oid]);
  }
  return out;
}

/** Whether `oid` is in sorted ranges. */
export function inRanges(ranges: readonly [number, number][], oid: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const [a, b] = ranges[mid]!;
    if (oid < a) hi = mid - 1;
    else if (oid > b) lo = mid + 1;
    else return true;
  }
  return false;
}

/** The OIDs of ranges that are not in `present` (sorted ascending). */
export function missingFromRanges(ranges: readonly [number, number][], present: ArrayLike<number>): number[] {
  const out: number[] = [];
  let j = 0;
  for (const [a, b] of ranges) {
    for (let oid = a; oid <= b; oid++) {
      while (j < present.length && present[j]! < oid) j++;
      if (j >= present.length || present[j] !== oid) out.push(oid);
    }
  }
  return out;
}
