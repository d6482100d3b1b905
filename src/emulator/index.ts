/**
 * `arcgis-etl/emulator`: a local ArcGIS REST server (tokens, services, query, faults) for tests
 * and demos.
 */
import { loadLayers } from './data/index.js';
import { serveEmulator } from './server.js';
import type { EmulatorHandle, EmulatorOptions } from './types.js';

export { apiKeysFrom, describeEmulator, type EmulatorCliFlags, emulatorCommandOptions } from './cli.js';
// editable layers (issue 16: h-sync)
export type { EditingSpec } from './edits/editable-layer.js';
// bulk export jobs (createReplica, item exports)
export type { JobFault, JobOptions } from './jobs/registry.js';
export { serveEmulator } from './server.js';
export type {
  EmulatedLayer,
  EmulatorAuthInfo,
  EmulatorHandle,
  EmulatorLoadStats,
  EmulatorOptions,
  EmulatorStats,
  FaultOptions,
  FaultRates,
  FederationOptions,
  GeneratedGeometry,
  GenerateSpec,
  LayerCapabilities,
  LayerSpec,
  OAuthAppSpec,
  OidMode,
  PbfQuirk,
  QueryAnswer,
  QueryFaults,
  QueryParams,
  UserSpec,
} from './types.js';
export { EmulatorQueryError } from './types.js';

/** Loads the layers (files, folder, generated) and starts serving them. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<EmulatorHandle> {
  const input = {
    ...(options.layers === undefined ? {} : { layers: options.layers }),
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    legacy: options.legacy === true,
    ...(options.faults?.nullGeometries === undefined
      ? {}
      : { nullGeometries: options.faults.nullGeometries }),
  };
  const layers = await loadLayers(input);
  return serveEmulator(options, layers);
}
