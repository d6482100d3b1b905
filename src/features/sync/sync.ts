/**
 * syncLayer: `export … --state FILE [--since T] [--merge PREVIOUS] [--deletes FILE]`.
 * - No state (and no --since): a full export, and the state is written.
 * - A state: only what changed since it. Change tracking (extractChanges from the state's
 *   serverGen) gives inserts, updates and deletes; edit tracking selects rows by the edit date
 *   field against the high-water mark the server reported (its clock, never ours), with the OIDs
 *   already taken at that exact instant excluded (neither lost nor duplicated), and finds deletes
 *   as the OIDs of the last output the layer no longer has.
 * - `--merge PREVIOUS`: the output is PREVIOUS with the changes applied, a full layer.
 * The outputs are published by rename; the state is replaced (atomically) last, after success.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EtlError } from '../../core/errors.js';
import type { EsriField } from '../../core/protocol.js';
import { featureJsonParser } from '../big-integers.js';
import { type ExportOptions, type ExportStats, exportLayer } from '../export.js';
import { normalizeLayerUrl } from '../metadata.js';
import { claimOutput } from '../output-claim.js';
import { filterParams } from '../spatial-filter.js';
import { buildWhere, sqlOid, validateFieldName } from '../where.js';
import { extractChanges } from './changes.js';
import { appendDeleteRows, defaultDeletesPath, writeDeletes } from './deletes.js';
import { MERGE_FORMATS, type MergeFormat, mergeOutputs } from './merge.js';
import {
  missingFromRanges,
  readSyncState,
  SYNC_STATE_VERSION,
  type SyncState,
  toRanges,
  writeSyncState,
} from './state.js';
import {
  maxEditDate,
  noTrackingError,
  objectIdsWhere,
  syncCapabilities,
  timestampLiteral,
} from './tracking.js';

/** At most this many OIDs at the high-water instant are kept in the state (see boundaryWhere). */
export const MAX_BOUNDARY_OIDS = 5000;

export interface SyncOptions extends Omit<ExportOptions, 'resume' | 'limit' | 'stream' | 'stdout'> {
  /**
   * The state file: absent → a full export; present → only the changes since it. Undefined (with
   * `since`): no state is read or written.
   */
  statePath?: string | undefined;
  /**
   * The layer's state, given rather than read from `statePath` (null: none, a full run); the next
   * state is then only returned (`SyncStats.state`), not written: a service's state file holds one
   * per layer and is written by exportService. `statePath` only names the file in messages.
   */
  state?: SyncState | null | undefined;
  /** Changes since this instant (server clock, epoch ms) by edit tracking, whatever the state says. */
  since?: number | undefined;
  /** The previous full output: `output` receives it with the changes applied. */
  merge?: string | undefined;
  /** Where the deleted OIDs go (default `<output>.deletes.csv`). */
  deletesPath?: string | undefined;
  /**
   * GeoJSONSeq: the deleted OIDs are rows of the output itself, after the inserts and updates, with
   * `properties._op = "delete"` and a null geometry (no deletes file).
   */
  inlineDeletes?: boolean | undefined;
}

export interface SyncStats {
  /** full: a whole export; changes: extractChanges; editDate: the edit date field. */
  mode: 'full' | 'changes' | 'editDate';
  /** Inserted or updated features exported (the whole layer for a full run). */
  upserts: number;
  /** Deleted OIDs written to the deletes file (undefined when they cannot be known). */
  deletes: number | undefined;
  /** Features in the output (after the merge, when merging). */
  features: number;
  merged: boolean;
  /** Requests of the whole run (metadata, tracking queries, export). */
  requests: number;
  deletesPath: string | undefined;
  /** The deletes are `_op: "delete"` rows of the output. */
  inlineDeletes: boolean;
  state: SyncState;
  export: ExportStats;
}

/**
 * At most this many OIDs in one `IN (…)` list (databases behind ArcGIS cap them, Oracle at 1000):
 * a longer list is several lists joined by OR. Queries are POSTed (the transport's default), so the
 * length of the where clause never meets a URL limit.
 */
export const OID_LIST_CHUNK = 500;

/** `field IN (…)` for `oids`, in chunks of at most OID_LIST_CHUNK joined by OR. */
export function inList(field: string, oids: readonly number[], chunk = OID_LIST_CHUNK): string {
  const lists: string[] = [];
  for (let i = 0; i < oids.length; i += chunk) {
    lists.push(
      `${field} IN (${oids
        .slice(i, i + chunk)
        .map(sqlOid)
        .join(',')})`,
    );
  }
  return lists.length === 1 ? lists[0]! : `(${lists.join(' OR ')})`;
}

/** Rows edited after the high-water mark, or at it but not taken then; not after `upTo`. */
function editWhere(
  field: string,
  oidField: string,
  from: SyncState | undefined,
  upTo: number | null,
): string {
  const date = validateFieldName(field);
  const oid = validateFieldName(oidField);
  const clauses: string[] = [];
  const hwm = from?.highWater;
  if (hwm !== undefined && hwm !== null) {
    const at = timestampLiteral(hwm);
    const boundary = from?.boundaryOids ?? [];
    clauses.push(
      boundary.length === 0
        ? `${date} > ${at}`
        : `(${date} > ${at} OR (${date} = ${at} AND NOT ${inList(oid, boundary)}))`,
    );
  }
  if (upTo !== null) clauses.push(`${date} <= ${timestampLiteral(upTo)}`);
  return clauses.length === 0 ? '1=1' : clauses.join(' AND ');
}

/** The fields of a layer resource (for the lossless parser of its BigInteger fields). */
function layerFields(meta: Record<string, unknown>): EsriField[] {
  const fields: unknown[] = Array.isArray(meta.fields) ? meta.fields : [];
  return fields.filter((f): f is EsriField => f !== null && typeof f === 'object');
}

function and(a: string, b: string): string {
  if (a === '1=1') return b;
  if (b === '1=1') return a;
  return `${a} AND (${b})`;
}

export async function syncLayer(options: SyncOptions): Promise<SyncStats> {
  const { client, signal } = options;
  const layerUrl = normalizeLayerUrl(options.layerUrl);
  const userWhere = options.where?.trim() || '1=1';
  if (options.output === '-') throw new EtlError('USAGE', '--state needs an output file, not stdout');
  const merging = options.merge !== undefined;
  const postgis = options.format === 'postgis';
  if (merging && !MERGE_FORMATS.includes(options.format as MergeFormat)) {
    throw new EtlError(
      'USAGE',
      `--merge writes ${MERGE_FORMATS.join(' or ')} outputs (got ${options.format})`,
    );
  }
  const inline = options.inlineDeletes === true;
  if (inline && options.format !== 'geojsonseq') {
    throw new EtlError('USAGE', `--deletes inline writes GeoJSONSeq outputs (got ${options.format})`);
  }
  if (inline && merging) {
    throw new EtlError('USAGE', '--deletes inline does not go with --merge (a merged output has no deletes)');
  }
  if (inline && options.deletesPath !== undefined) {
    throw new EtlError('USAGE', 'Deletes go inline or to a file, not both');
  }
  const requestsBefore = client.stats.requests;
  const given = options.state !== undefined;
  if (options.statePath === undefined && options.since === undefined && !given) {
    throw new EtlError('USAGE', 'A sync needs a state file or --since');
  }
  const state = given
    ? (options.state ?? undefined)
    : options.statePath === undefined
      ? undefined
      : await readSyncState(options.statePath);
  if (state && state.layerUrl !== layerUrl) {
    throw new EtlError(
      'SYNC_STATE_INVALID',
      `The state file ${options.statePath} is for another layer (${state.layerUrl})`,
    );
  }
  if (state && state.where !== userWhere) {
    throw new EtlError(
      'SYNC_STATE_INVALID',
      `The state file ${options.statePath} was made with another where clause (${state.where})`,
    );
  }
  // a spatial filter applies to the changes: the output is the filtered set, kept up to date
  const filterKey = options.filter ? JSON.stringify(filterParams(options.filter)) : undefined;
  if (state && state.filter !== filterKey) {
    throw new EtlError(
      'SYNC_STATE_INVALID',
      `The state file ${options.statePath} was made with ${state.filter === undefined ? 'no' : 'another'} spatial filter (--bbox/--geometry)`,
    );
  }
  const spatial = filterParams(options.filter);
  const meta = await client.request<Record<string, unknown>>(layerUrl, {}, signal ? { signal } : {});
  const caps = syncCapabilities(meta);
  const oidField = caps.oidField ?? 'OBJECTID';
  const base = buildWhere({ userWhere, oidField });

  // what this run does, decided before anything is written
  let mode: SyncStats['mode'];
  let from: SyncState | undefined;
  if (options.since !== undefined) {
    if (!caps.editDateField) {
      throw new EtlError(
        'SYNC_UNSUPPORTED',
        `--since needs edit tracking (editFieldsInfo.editDateField), which the layer ${layerUrl} does not have${caps.changeTracking ? ' (it has change tracking: use --state without --since)' : ''}`,
      );
    }
    mode = 'editDate';
    from = {
      version: SYNC_STATE_VERSION,
      layerUrl,
      mode: 'editDate',
      editDateField: caps.editDateField,
      highWater: options.since,
      boundaryOids: [],
      where: userWhere,
      ...(state?.mode === 'editDate' && state.oidRanges ? { oidRanges: state.oidRanges } : {}),
    };
  } else if (state?.mode === 'changes') {
    if (!caps.changeTracking) {
      throw new EtlError(
        'SYNC_UNSUPPORTED',
        `The state was made with change tracking, which the layer ${layerUrl} no longer offers (ChangeTracking capability with serverGens)`,
      );
    }
    mode = 'changes';
    from = state;
  } else if (state?.mode === 'editDate') {
    if (!caps.editDateField || caps.editDateField.toLowerCase() !== state.editDateField?.toLowerCase()) {
      throw new EtlError(
        'SYNC_UNSUPPORTED',
        `The state was made with edit tracking on ${state.editDateField}, which the layer ${layerUrl} no longer offers (editFieldsInfo.editDateField)`,
      );
    }
    mode = 'editDate';
    from = state;
  } else {
    if (!caps.changeTracking && !caps.editDateField) throw noTrackingError(layerUrl, '--state');
    mode = 'full';
  }
  const nextMode = mode === 'full' ? (caps.changeTracking ? 'changes' : 'editDate') : mode;

  // the marker the next run starts from, taken from the server before this run reads anything
  let next: SyncState;
  let currentOids: Float64Array | undefined;
  if (nextMode === 'changes' && mode === 'full') {
    next = {
      version: SYNC_STATE_VERSION,
      layerUrl,
      mode: 'changes',
      serverGen: caps.changeTracking!.serverGen,
      where: userWhere,
      ...(filterKey === undefined ? {} : { filter: filterKey }),
    };
  } else if (nextMode === 'editDate') {
    const field = caps.editDateField!;
    const hwm = await maxEditDate(client, layerUrl, field, base, signal);
    const atHwm =
      hwm === null
        ? []
        : await objectIdsWhere(
            client,
            layerUrl,
            and(base, `${validateFieldName(field)} = ${timestampLiteral(hwm)}`),
            signal,
          );
    currentOids = await objectIdsWhere(client, layerUrl, base, signal, spatial);
    next = {
      version: SYNC_STATE_VERSION,
      layerUrl,
      mode: 'editDate',
      editDateField: field,
      highWater: hwm ?? from?.highWater ?? null,
      highWaterIso: hwm === null ? (from?.highWaterIso ?? null) : new Date(hwm).toISOString(),
      boundaryOids:
        hwm === null
          ? (from?.boundaryOids ?? [])
          : atHwm.length <= MAX_BOUNDARY_OIDS
            ? Array.from(atHwm)
            : [],
      oidRanges: toRanges(currentOids),
      where: userWhere,
      ...(filterKey === undefined ? {} : { filter: filterKey }),
    };
    if (
      mode !== 'full' &&
      hwm !== null &&
      from?.highWater !== undefined &&
      from.highWater !== null &&
      hwm < from.highWater
    ) {
      // the server's newest edit is older than the mark: its clock went back, or rows were restored
      next.highWater = from.highWater;
      next.highWaterIso = from.highWaterIso ?? new Date(from.highWater).toISOString();
      next.boundaryOids = from.boundaryOids ?? [];
    }
  } else {
    next = { ...from! };
  }

  // what to export, and which OIDs were deleted
  let where = base;
  let deletes: number[] | undefined;
  if (mode === 'changes') {
    const changes = await extractChanges({
      client,
      layerUrl,
      serverGen: from!.serverGen!,
      signal,
      runtime: options.runtime,
    });
    const deleted = new Set(changes.deletes);
    const upserts = [...new Set([...changes.adds, ...changes.updates])]
      .filter((o) => !deleted.has(o))
      .sort((a, b) => a - b);
    where = upserts.length === 0 ? '1=0' : and(base, inList(validateFieldName(oidField), upserts));
    if (options.filter && changes.updates.length > 0) {
      // an updated feature that left the area is gone from the filtered output: a delete
      const updates = changes.updates.filter((o) => !deleted.has(o)).sort((a, b) => a - b);
      const inside = await objectIdsWhere(
        client,
        layerUrl,
        and(base, inList(validateFieldName(oidField), updates)),
        signal,
        spatial,
      );
      for (const oid of missingFromRanges(toRanges(updates), inside)) deleted.add(oid);
    }
    deletes = [...deleted].sort((a, b) => a - b);
    next = { ...next, serverGen: changes.serverGen };
  } else if (mode === 'editDate') {
    where = and(base, editWhere(caps.editDateField!, oidField, from, next.highWater ?? null));
    const baseline = from?.oidRanges;
    if (baseline && currentOids) deletes = missingFromRanges(baseline, currentOids);
  }

  if (postgis && options.postgis?.key !== undefined && mode !== 'full') {
    throw new EtlError('USAGE', '--key cannot go with --state/--since: the changes are applied by the OID');
  }
  // PostGIS: the changes are applied in place, in one transaction (upserts, then the deletes)
  const postgisOptions =
    postgis && mode !== 'full'
      ? { ...options.postgis, mode: 'upsert' as const, key: undefined, deleteKeys: deletes ?? [] }
      : options.postgis;

  // merged, or with the deletes inline: written beside the output, published by rename
  const staged = (merging || inline) && mode !== 'full';
  const ownClaim =
    (merging || inline) && options.claim === undefined
      ? await claimOutput(options.output, {
          overwrite: merging || options.overwrite === true,
          runtime: options.runtime,
        })
      : undefined;
  const claim = options.claim ?? ownClaim;
  const changedPath = staged
    ? join(dirname(options.output), `.sync-${randomBytes(4).toString('hex')}.geojsonl`)
    : undefined;
  try {
    const exported = await exportLayer({
      ...options,
      layerUrl,
      where,
      output: changedPath ?? options.output,
      format: changedPath ? 'geojsonseq' : options.format,
      ...(changedPath ? { overwrite: true } : {}),
      ...(postgisOptions === undefined ? {} : { postgis: postgisOptions }),
      claim: changedPath ? undefined : claim,
    });
    let features = exported.features;
    if (changedPath && inline) {
      await appendDeleteRows(changedPath, oidField, deletes ?? []);
      try {
        await rename(changedPath, options.output);
      } catch (cause) {
        throw new EtlError('OUTPUT_ERROR', `Cannot publish the output ${options.output}`, { cause });
      }
    } else if (changedPath) {
      const known = deletes;
      const result = await mergeOutputs({
        previous: options.merge!,
        changed: changedPath,
        // edit tracking without a state: the OIDs of PREVIOUS the layer no longer has
        deletes:
          known ?? ((previous) => (currentOids ? missingFromRanges(toRanges(previous), currentOids) : [])),
        output: options.output,
        format: options.format as MergeFormat,
        parseJson: featureJsonParser(layerFields(meta)),
      });
      if (known === undefined && currentOids)
        deletes = missingFromRanges(toRanges(result.previousOids), currentOids);
      features = result.features;
    }
    const deletesPath =
      mode === 'full' || deletes === undefined || inline || (postgis && options.deletesPath === undefined)
        ? undefined
        : (options.deletesPath ?? defaultDeletesPath(options.output));
    if (deletesPath !== undefined) await writeDeletes(deletesPath, oidField, deletes!);
    if (options.statePath !== undefined && !given) await writeSyncState(options.statePath, next);
    return {
      mode,
      upserts: exported.features,
      deletes: mode === 'full' ? 0 : deletes?.length,
      features,
      merged: merging && changedPath !== undefined,
      inlineDeletes: inline && mode !== 'full' && deletes !== undefined,
      requests: client.stats.requests - requestsBefore,
      deletesPath,
      state: next,
      export: exported,
    };
  } finally {
    if (changedPath) await rm(changedPath, { force: true });
    await ownClaim?.release();
  }
}
