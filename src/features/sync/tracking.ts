/**
 * What a layer offers for incremental sync, read from its resource: change tracking
 * (`ChangeTracking` capability + `serverGens`, for `extractChanges`) and edit tracking
 * (`editFieldsInfo.editDateField`); and the server-side queries edit tracking needs.
 */
import type { ArcGISClient } from '../../client/arcgis-client.js';
import { EtlError } from '../../core/errors.js';
import type { Params } from '../../http/types.js';
import { validateFieldName } from '../where.js';

export interface SyncCapabilities {
  changeTracking: { serverGen: number } | undefined;
  editDateField: string | undefined;
  attachments: boolean;
  queryAttachments: boolean;
  oidField: string | undefined;
}

export function syncCapabilities(meta: Record<string, unknown>): SyncCapabilities {
  const caps = String(meta.capabilities ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase());
  const gens = meta.serverGens as { serverGen?: unknown } | undefined;
  const changeTracking =
    caps.includes('changetracking') && typeof gens?.serverGen === 'number'
      ? { serverGen: gens.serverGen }
      : undefined;
  const efi = meta.editFieldsInfo as { editDateField?: unknown } | null | undefined;
  const editDateField =
    typeof efi?.editDateField === 'string' && efi.editDateField ? efi.editDateField : undefined;
  const aqc = (meta.advancedQueryCapabilities ?? {}) as Record<string, unknown>;
  return {
    changeTracking,
    editDateField,
    attachments: meta.hasAttachments === true,
    queryAttachments: meta.hasAttachments === true && aqc.supportsQueryAttachments === true,
    oidField: typeof meta.objectIdField === 'string' ? meta.objectIdField : undefined,
  };
}

/** The one-line refusal when a layer offers neither kind of tracking. */
export function noTrackingError(layerUrl: string, what: string): EtlError {
  return new EtlError(
    'SYNC_UNSUPPORTED',
    `${what} needs edit tracking (editFieldsInfo.editDateField) or change tracking (ChangeTracking capability with serverGens); the layer ${layerUrl} has neither`,
  );
}

/** `timestamp 'YYYY-MM-DD HH:MM:SS.mmm'` (UTC) for an epoch-ms value. */
export function timestampLiteral(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `timestamp '${iso.slice(0, 10)} ${iso.slice(11, 23)}'`;
}

/** Parses `--since`: epoch milliseconds, or an ISO 8601 date/time (UTC unless an offset is given). */
export function parseSince(text: string): number {
  const t = text.trim();
  if (/^\d{1,15}$/.test(t)) return Number(t);
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?))?(Z|[+-]\d{2}:?\d{2})?$/i.exec(
    t,
  );
  const zone = m?.[3] === undefined ? 'Z' : m[3].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = m ? Date.parse(`${m[1]}T${m[2] ?? '00:00'}${zone}`) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new EtlError(
      'USAGE',
      `--since must be an ISO 8601 date/time or epoch milliseconds (got "${t.slice(0, 40)}")`,
    );
  }
  return ms;
}

function signalOf(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}

/** The largest edit date on the server (its clock), or null for an empty layer. */
export async function maxEditDate(
  client: ArcGISClient,
  layerUrl: string,
  field: string,
  where: string,
  signal?: AbortSignal,
): Promise<number | null> {
  const name = validateFieldName(field);
  try {
    const body = await client.request<{ features?: { attributes?: Record<string, unknown> }[] }>(
      `${layerUrl}/query`,
      {
        where,
        outStatistics: JSON.stringify([
          { statisticType: 'max', onStatisticField: name, outStatisticFieldName: 'hwm' },
        ]),
      },
      signalOf(signal),
    );
    const attrs = body.features?.[0]?.attributes;
    if (attrs) {
      const key = Object.keys(attrs).find((k) => k.toLowerCase() === 'hwm');
      const value = key === undefined ? undefined : attrs[key];
      if (value === null) return null;
      if (typeof value === 'number') return value;
    }
  } catch (error) {
    if (!(error instanceof EtlError) || error.code !== 'ARCGIS_ERROR') throw error;
  }
  // statistics not offered (or answered empty): the newest row by edit date
  const body = await client.request<{ features?: { attributes?: Record<string, unknown> }[] }>(
    `${layerUrl}/query`,
    { where, outFields: name, orderByFields: `${name} DESC`, resultRecordCount: 1, returnGeometry: false },
    signalOf(signal),
  );
  const attrs = body.features?.[0]?.attributes ?? {};
  const key = Object.keys(attrs).find((k) => k.toLowerCase() === name.toLowerCase());
  const value = key === undefined ? null : attrs[key];
  return typeof value === 'number' ? value : null;
}

/** Sorted OIDs matching `where` (returnIdsOnly), and the spatial filter's parameters if given. */
export async function objectIdsWhere(
  client: ArcGISClient,
  layerUrl: string,
  where: string,
  signal?: AbortSignal,
  filter: Params = {},
): Promise<Float64Array> {
  const body = await client.request<{ objectIds?: unknown; exceededTransferLimit?: unknown }>(
    `${layerUrl}/query`,
    { where, ...filter, returnIdsOnly: true },
    signalOf(signal),
  );
  if (body.exceededTransferLimit === true) {
    throw new EtlError(
      'INVALID_RESPONSE',
      'returnIdsOnly answered a truncated id list (exceededTransferLimit)',
    );
  }
  const raw = body.objectIds ?? [];
  if (!Array.isArray(raw) || raw.some((v) => !Number.isSafeInteger(v))) {
    throw new EtlError('INVALID_RESPONSE', 'returnIdsOnly answered no valid objectIds array');
  }
  return Float64Array.from(raw as number[]).sort();
}
