/**
 * Which layers offer Sync (createReplica), and what the FeatureServer resource says about it.
 */
import { DataLayer } from '../data/layer.js';
import { EditableLayer } from '../edits/editable-layer.js';
import type { EmulatedLayer } from '../types.js';

/** Whether a layer offers Sync (LayerSpec.capabilities.sync, default true). */
export function layerSyncs(layer: EmulatedLayer): boolean {
  const options = layer instanceof DataLayer || layer instanceof EditableLayer ? layer.options : undefined;
  return options?.capabilities.sync !== false;
}

/** The FeatureServer resource's sync properties (merged into its JSON). */
export function syncServiceJson(layers: readonly EmulatedLayer[]): Record<string, unknown> {
  const sync = layers.length > 0 && layers.every(layerSyncs);
  return {
    capabilities: sync ? 'Query,Sync' : 'Query',
    syncEnabled: sync,
    ...(sync
      ? {
          syncCapabilities: {
            supportsAsync: true,
            supportsRegisteringExistingData: false,
            supportsSyncDirectionControl: false,
            supportsPerLayerSync: false,
            supportsPerReplicaSync: false,
            supportsSyncModelNone: true,
            supportsRollbackOnFailure: false,
            supportsAttachmentsSyncDirection: false,
            supportsBiDirectionalSyncForServer: false,
          },
          supportedSyncDataOptions: 0,
        }
      : {}),
  };
}
