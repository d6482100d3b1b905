/**
 * A sync of one emulator layer as the sync tests run it: GeoJSONSeq into the test's folder, the
 * state file named after the service beside it, job polls and retries on an injected sleep (the
 * test never sleeps).
 */
import type { ArcGISClient } from '../../src/client/arcgis-client.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { type SyncOptions, syncLayer } from '../../src/features/sync/sync.js';
import { type Rig, rig, type TempDir } from '../extract/helpers.js';

export async function syncInto(
  emu: EmulatorHandle,
  tmp: TempDir,
  service: string,
  out: string,
  extra: Partial<SyncOptions> = {},
  /** The client to sync with, made from the rig (default: the rig's own). */
  clientOf: (r: Rig) => ArcGISClient = (r) => r.client,
) {
  const r = rig(emu);
  try {
    return await syncLayer({
      client: clientOf(r),
      layerUrl: emu.layerUrl(service),
      output: tmp.path(out),
      format: 'geojsonseq',
      statePath: tmp.path(`${service}.state.json`),
      overwrite: true,
      runtime: { sleep: async () => {} },
      ...extra,
    });
  } finally {
    await r.close();
  }
}
