/**
 * Layer metadata (`{layer}?f=json`) turned into what extraction needs, and `returnCountOnly`.
 */
import type { ArcGISClient } from '../client/arcgis-client.js';
import { EtlError, isEtlError } from '../core/errors.js';
import type { EsriEnvelope, EsriField, EsriGeometryType, SpatialReference } from '../core/protocol.js';
import { baseUrl } from '../core/url.js';
import { isSuccess } from '../http/envelope.js';
import { retryQueryFailures, signalOption } from './query.js';
import { filterParams, type SpatialFilter } from './spatial-filter.js';

export const DEFAULT_MAX_RECORD_COUNT = 1000;
const COUNT_RETRIES = 2;

export interface LayerInfo {
  /** The layer URL, normalised (no query string, no trailing slash or `/query`). */
  url: string;
  name: string | undefined;
  oidField: string;
  maxRecordCount: number;
  supportsPagination: boolean;
  supportsStatistics: boolean;
  supportsOrderBy: boolean;
  fields: EsriField[];
  geometryType: EsriGeometryType | undefined;
  hasZ: boolean;
  hasM: boolean;
  extent: EsriEnvelope | undefined;
  spatialReference: SpatialReference | undefined;
  supportedQueryFormats: string[];
  currentVersion: number | undefined;
  /** The layer resource as the server answered it (domains, subtypes, time reference…). */
  raw?: Record<string, unknown> | undefined;
  /** `returnCountOnly` for a where clause (default everything). */
  count(
    where?: string,
    options?: { signal?: AbortSignal | undefined; filter?: SpatialFilter | undefined },
  ): Promise<number>;
}

/** Normalises a layer URL: no query string or hash, no trailing `/` or `/query`. */
export function normalizeLayerUrl(url: string): string {
  return baseUrl(url)
    .replace(/\/+$/, '')
    .replace(/\/query$/i, '');
}

export async function fetchLayerInfo(
  client: ArcGISClient,
  layerUrl: string,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<LayerInfo> {
  const url = normalizeLayerUrl(layerUrl);
  let body: Record<string, unknown>;
  try {
    body = await client.request<Record<string, unknown>>(url, {}, signalOption(options.signal));
  } catch (error) {
    if (isNotFound(error)) {
      throw new EtlError(
        'LAYER_NOT_FOUND',
        `No layer at ${url}: expected …/FeatureServer/<id> or …/MapServer/<id> (${(error as Error).message})`,
        { cause: error, url },
      );
    }
    if (isHtmlPage(error, url)) {
      // a web page where a REST resource was expected: an item page or a viewer URL, most often
      throw new EtlError(
        'LAYER_NOT_FOUND',
        `${url} answers a web page, not ArcGIS REST JSON: expected the REST URL of a layer, …/FeatureServer/<id> or …/MapServer/<id> (an item page or a map viewer URL is not one) (${(error as Error).message})`,
        { cause: error, url },
      );
    }
    throw error;
  }
  return parseLayerInfo(client, url, body);
}

export function parseLayerInfo(client: ArcGISClient, url: string, body: unknown): LayerInfo {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new EtlError('LAYER_METADATA_INVALID', `The layer resource at ${url} is not a JSON object`, {
      url,
    });
  }
  const meta = body as Record<string, unknown>;
  const fields = meta.fields;
  if (!Array.isArray(fields)) {
    if (Array.isArray(meta.layers) || Array.isArray(meta.tables) || Array.isArray(meta.services)) {
      throw new EtlError('LAYER_NOT_FOUND', `${url} is a service, not a layer: ${layerHint(url, meta)}`, {
        url,
      });
    }
    throw new EtlError('LAYER_METADATA_INVALID', `The layer resource at ${url} has no fields`, { url });
  }
  const parsedFields = fields.filter(
    (f): f is EsriField => !!f && typeof f === 'object' && typeof (f as EsriField).name === 'string',
  );
  const adv = (meta.advancedQueryCapabilities ?? {}) as Record<string, unknown>;
  const maxRecordCount = meta.maxRecordCount;
  const extent = meta.extent as EsriEnvelope | undefined;
  return {
    url,
    name: typeof meta.name === 'string' ? meta.name : undefined,
    oidField: findOidField(meta, parsedFields, url),
    maxRecordCount:
      typeof maxRecordCount === 'number' && Number.isInteger(maxRecordCount) && maxRecordCount > 0
        ? maxRecordCount
        : DEFAULT_MAX_RECORD_COUNT,
    supportsPagination: adv.supportsPagination === true,
    supportsStatistics: (adv.supportsStatistics ?? meta.supportsStatistics) === true,
    supportsOrderBy: adv.supportsOrderBy === true,
    fields: parsedFields,
    geometryType: typeof meta.geometryType === 'string' ? (meta.geometryType as EsriGeometryType) : undefined,
    hasZ: meta.hasZ === true,
    hasM: meta.hasM === true,
    extent: isEnvelope(extent) ? extent : undefined,
    spatialReference: isEnvelope(extent) ? extent.spatialReference : undefined,
    supportedQueryFormats:
      typeof meta.supportedQueryFormats === 'string'
        ? meta.supportedQueryFormats
            .split(',')
            .map((s) => s.trim().toLowerCase())
            .filter(Boolean)
        : [],
    currentVersion: typeof meta.currentVersion === 'number' ? meta.currentVersion : undefined,
    raw: meta,
    count: (where, opts) => countFeatures(client, url, where, opts?.signal, opts?.filter),
  };
}

/** objectIdField, else the esriFieldTypeOID field, else OBJECTID/FID by name. */
export function findOidField(meta: Record<string, unknown>, fields: readonly EsriField[], url = ''): string {
  const declared = meta.objectIdField ?? meta.objectIdFieldName;
  if (typeof declared === 'string' && declared !== '') return declared;
  const typed = fields.find((f) => f.type === 'esriFieldTypeOID');
  if (typed) return typed.name;
  for (const name of ['OBJECTID', 'FID', 'OID']) {
    const byName = fields.find((f) => f.name.toUpperCase() === name && isIntegerType(f.type));
    if (byName) return byName.name;
  }
  throw new EtlError(
    'OID_FIELD_NOT_FOUND',
    `The layer ${url} has no object id field (no objectIdField, no esriFieldTypeOID field, no OBJECTID/FID)`,
    { url },
  );
}

function isIntegerType(type: string): boolean {
  return /Integer|OID/i.test(type);
}

export async function countFeatures(
  client: ArcGISClient,
  layerUrl: string,
  where = '1=1',
  signal?: AbortSignal,
  filter?: SpatialFilter,
): Promise<number> {
  // counts are queries too: a transient 500 "Error performing query operation" is tried again
  const body = await retryQueryFailures(
    () =>
      client.request<{ count?: unknown }>(
        `${layerUrl}/query`,
        { where, ...filterParams(filter), returnCountOnly: true },
        signalOption(signal),
      ),
    COUNT_RETRIES,
  );
  const count = body?.count;
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
    throw new EtlError('INVALID_RESPONSE', `returnCountOnly answered no valid count for ${layerUrl}`, {
      url: layerUrl,
    });
  }
  return count;
}

function isEnvelope(e: unknown): e is EsriEnvelope {
  if (!e || typeof e !== 'object') return false;
  const { xmin, ymin, xmax, ymax } = e as Record<string, unknown>;
  return [xmin, ymin, xmax, ymax].every((v) => typeof v === 'number' && Number.isFinite(v));
}

function isNotFound(error: unknown): boolean {
  if (!isEtlError(error)) return false;
  if (error.code === 'NOT_FOUND' || error.code === 'LAYER_NOT_FOUND') return true;
  if (error.status === 404 || error.arcgisCode === 404) return true;
  return (
    (error.arcgisCode === 400 || error.status === 400) &&
    /invalid url|not found|does not exist/i.test(error.message)
  );
}

/**
 * The layer URL itself answered an HTML page with a success status (after the transport's retries):
 * not a REST endpoint. (An HTML page from the token endpoint is not this: it keeps its own error.)
 */
function isHtmlPage(error: unknown, url: string): boolean {
  const e = isEtlError(error, 'RETRIES_EXHAUSTED') ? error.cause : error;
  return (
    isEtlError(e, 'INVALID_RESPONSE') &&
    e.url === url &&
    /HTML page/.test(e.message) &&
    (e.status === undefined || isSuccess(e.status))
  );
}

function layerHint(url: string, meta: Record<string, unknown>): string {
  const layers = [...asList(meta.layers), ...asList(meta.tables)];
  if (layers.length === 0) return 'append /<layer id> to the URL';
  const list = layers
    .slice(0, 10)
    .map((l) => `${url}/${l.id}${l.name ? ` (${l.name})` : ''}`)
    .join(', ');
  return `use one of its layers: ${list}`;
}

function asList(value: unknown): { id: unknown; name?: unknown }[] {
  return Array.isArray(value) ? value.filter((v) => v && typeof v === 'object' && 'id' in v) : [];
}
