/**
 * A FeatureServer or MapServer (`…/FeatureServer`, `…/MapServer`): its layers and tables, which of
 * them hold features we can export (group, raster and annotation layers are skipped, and why is
 * said), and `--layers 0,3,Parcels` picking some by id or name.
 */
import type { ArcGISClient } from '../client/arcgis-client.js';
import { EtlError } from '../core/errors.js';
import { normalizeLayerUrl } from './metadata.js';
import { signalOption } from './query.js';

const SERVICE_URL = /\/(FeatureServer|MapServer)$/i;

/** Whether a URL names a whole service (…/FeatureServer or …/MapServer, no layer id). */
export function isServiceUrl(url: string): boolean {
  try {
    return SERVICE_URL.test(normalizeLayerUrl(url));
  } catch {
    return false;
  }
}

export interface ServiceLayer {
  id: number;
  name: string;
  /** The type the service lists (`Feature Layer`, `Table`, `Group Layer`, …). */
  type: string;
  /** Listed under `tables`. */
  table: boolean;
  geometryType: string | undefined;
  url: string;
  /** Why it is not exported (a group, raster or annotation layer), else undefined. */
  skip: string | undefined;
}

export interface ServiceInfo {
  url: string;
  kind: 'FeatureServer' | 'MapServer';
  capabilities: string | undefined;
  maxRecordCount: number | undefined;
  layers: ServiceLayer[];
}

const SKIPPED: Record<string, string> = {
  'group layer': 'a group layer (its sublayers are listed on their own)',
  'raster layer': 'a raster layer (no features)',
  'raster catalog layer': 'a raster catalog layer (no features)',
  'mosaic layer': 'a mosaic layer (no features)',
  'annotation layer': 'an annotation layer (text, not features)',
  'annotation sublayer': 'an annotation sublayer (text, not features)',
  'dimension layer': 'a dimension layer (not features)',
};

export async function fetchServiceInfo(
  client: ArcGISClient,
  serviceUrl: string,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<ServiceInfo> {
  const url = normalizeLayerUrl(serviceUrl);
  const match = SERVICE_URL.exec(url);
  if (!match) {
    throw new EtlError('USAGE', `${url} is not a service URL (…/FeatureServer or …/MapServer)`, { url });
  }
  const body = await client.request<Record<string, unknown>>(url, {}, signalOption(options.signal));
  const entries = (value: unknown, table: boolean): ServiceLayer[] =>
    (Array.isArray(value) ? (value as Record<string, unknown>[]) : []).flatMap((l) => {
      if (typeof l.id !== 'number' || !Number.isSafeInteger(l.id)) return [];
      const type = typeof l.type === 'string' ? l.type : table ? 'Table' : 'Feature Layer';
      const skip = SKIPPED[type.toLowerCase()];
      return [
        {
          id: l.id,
          name: typeof l.name === 'string' && l.name !== '' ? l.name : `layer${l.id}`,
          type,
          table: table || type === 'Table',
          geometryType: typeof l.geometryType === 'string' ? l.geometryType : undefined,
          url: `${url}/${l.id}`,
          skip,
        },
      ];
    });
  return {
    url,
    kind: match[1]!.toLowerCase() === 'mapserver' ? 'MapServer' : 'FeatureServer',
    capabilities: typeof body.capabilities === 'string' ? body.capabilities : undefined,
    maxRecordCount: typeof body.maxRecordCount === 'number' ? body.maxRecordCount : undefined,
    layers: [...entries(body.layers, false), ...entries(body.tables, true)],
  };
}

/**
 * The layers to export: `wanted` (ids or names, case-insensitive) or every exportable one. A
 * wanted layer that is not in the service is USAGE naming the layers; a wanted one that cannot be
 * exported (a group layer…) too.
 */
export function selectLayers(service: ServiceInfo, wanted: readonly string[] | undefined): ServiceLayer[] {
  if (!wanted || wanted.length === 0) return service.layers.filter((l) => l.skip === undefined);
  const out: ServiceLayer[] = [];
  for (const item of wanted) {
    const key = item.trim();
    const layer =
      service.layers.find((l) => /^\d+$/.test(key) && l.id === Number(key)) ??
      service.layers.find((l) => l.name === key) ??
      service.layers.find((l) => l.name.toLowerCase() === key.toLowerCase());
    if (!layer) {
      const names = service.layers.map((l) => `${l.id} ${l.name}`).join(', ');
      throw new EtlError('USAGE', `--layers: "${key}" is not a layer of ${service.url} (it has: ${names})`);
    }
    if (layer.skip !== undefined) {
      throw new EtlError(
        'USAGE',
        `--layers: layer ${layer.id} "${layer.name}" is ${layer.skip}: it cannot be exported`,
      );
    }
    if (!out.includes(layer)) out.push(layer);
  }
  return out;
}

/** `<id>-<name>` made safe as a file name on every system (no separators, reserved or control characters). */
export function layerFileStem(layer: Pick<ServiceLayer, 'id' | 'name'>): string {
  const safe = layer.name
    .normalize('NFC')
    .replace(/[\u0000-\u001f\u007f<>:"/\\|?*\s]+/g, '_')
    .replace(/^[._]+|[._ ]+$/g, '')
    .slice(0, 80);
  return safe === '' ? String(layer.id) : `${layer.id}-${safe}`;
}
