/**
 * The JSON of the services directory, FeatureServer and MapServer resources.
 */
import { EditableLayer } from './edits/editable-layer.js';
import { serviceItemId } from './jobs/item-routes.js';
import { syncServiceJson } from './replica/capability.js';
import type { EmulatedLayer } from './types.js';

export const CURRENT_VERSION = 11.1;
export const FULL_VERSION = '11.1.0';

export function servicesJson(listing: { folders: string[]; services: string[] }): Record<string, unknown> {
  return {
    currentVersion: CURRENT_VERSION,
    folders: listing.folders,
    services: listing.services.flatMap((name) => [
      { name, type: 'FeatureServer' },
      { name, type: 'MapServer' },
    ]),
  };
}

interface LayerSummary {
  meta: Record<string, unknown>;
  layer: EmulatedLayer;
}

function summaries(layers: readonly EmulatedLayer[]): LayerSummary[] {
  return layers.map((layer) => ({ layer, meta: layer.metadata() as Record<string, unknown> }));
}

function layerEntry({ layer, meta }: LayerSummary): Record<string, unknown> {
  const type = typeof meta.type === 'string' ? meta.type : 'Feature Layer';
  if (type === 'Table') return { id: layer.id, name: meta.name ?? layer.service, type };
  return {
    id: layer.id,
    name: meta.name ?? layer.service,
    parentLayerId: -1,
    defaultVisibility: true,
    subLayerIds: type === 'Group Layer' ? [] : null,
    minScale: 0,
    maxScale: 0,
    type,
    ...(type === 'Feature Layer' ? { geometryType: layer.geometryType } : {}),
  };
}

function isTable(s: LayerSummary): boolean {
  return s.meta.type === 'Table';
}

function common(list: LayerSummary[]): Record<string, unknown> {
  const first = list[0]?.meta;
  const extent = first?.extent as { spatialReference?: unknown } | undefined;
  const maxRecordCount = Math.max(
    ...list.map((s) => (typeof s.meta.maxRecordCount === 'number' ? s.meta.maxRecordCount : 2000)),
  );
  return {
    currentVersion: CURRENT_VERSION,
    serviceDescription: '',
    maxRecordCount,
    supportedQueryFormats: (first?.supportedQueryFormats as string | undefined) ?? 'JSON',
    spatialReference: extent?.spatialReference ?? { wkid: 4326, latestWkid: 4326 },
    initialExtent: extent ?? null,
    fullExtent: extent ?? null,
    units: 'esriDecimalDegrees',
    description: '',
    copyrightText: '',
  };
}

export function featureServerJson(layers: readonly EmulatedLayer[]): Record<string, unknown> {
  const list = summaries(layers);
  const sync = syncServiceJson(layers);
  return {
    ...common(list),
    hasVersionedData: false,
    supportsDisconnectedEditing: false,
    hasStaticData: true,
    allowGeometryUpdates: false,
    syncEnabled: false,
    layers: list.filter((s) => !isTable(s)).map(layerEntry),
    tables: list.filter(isTable).map(layerEntry),
    ...sync,
    capabilities: serviceCapabilities(layers, sync.syncEnabled === true),
    ...(layers[0] ? { serviceItemId: serviceItemId(layers[0].service) } : {}),
  };
}

/** Query; Create/Update/Delete/Editing and ChangeTracking when a layer is editable; Sync. */
function serviceCapabilities(layers: readonly EmulatedLayer[], sync: boolean): string {
  const editable = layers.filter((l) => l instanceof EditableLayer);
  const caps = ['Query'];
  if (editable.length > 0) caps.push('Create', 'Update', 'Delete', 'Editing');
  if (editable.some((l) => l.editing.changeTracking)) caps.push('ChangeTracking');
  if (sync) caps.push('Sync');
  return caps.join(',');
}

export function mapServerJson(service: string, layers: readonly EmulatedLayer[]): Record<string, unknown> {
  const list = summaries(layers);
  return {
    ...common(list),
    mapName: service.slice(service.lastIndexOf('/') + 1),
    singleFusedMapCache: false,
    capabilities: 'Map,Query,Data',
    supportsDynamicLayers: false,
    layers: list.filter((s) => !isTable(s)).map(layerEntry),
    tables: list.filter(isTable).map(layerEntry),
  };
}
