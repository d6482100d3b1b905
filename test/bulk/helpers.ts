/**
 * Bulk export tests: a secured emulator whose tokens come from its portal (item exports need a
 * named user's portal token; the server honours it too), a client with a TokenManager.
 */
import { readdir } from 'node:fs/promises';
import { expect } from 'vitest';
import { GenerateTokenProvider } from '../../src/auth/generate-token.js';
import { TokenManager } from '../../src/auth/token-manager.js';
import { ArcGISClient } from '../../src/client/arcgis-client.js';
import type { Runtime } from '../../src/core/time.js';
import { originOf } from '../../src/core/url.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { createFeatureConverter } from '../../src/features/geometry/feature.js';
import type { GeoJSONFeature } from '../../src/features/geometry/types.js';
import { createTransport } from '../../src/http/transport.js';
import { USER } from '../extract/helpers.js';

export { expectSameAsSource, readSeq, startSecured, tempDir, USER } from '../extract/helpers.js';

export interface BulkRig {
  client: ArcGISClient;
  auth: TokenManager;
  close(): Promise<void>;
}

export function bulkRig(emu: EmulatorHandle, authRuntime?: Partial<Runtime>): BulkRig {
  const transport = createTransport({ retry: { baseDelayMs: 1, maxDelayMs: 5 } });
  const provider = new GenerateTokenProvider({
    tokenUrl: `${emu.portalUrl}/sharing/rest/generateToken`,
    username: USER.username,
    password: USER.password,
    transport,
  });
  const auth = new TokenManager({
    provider,
    scope: [originOf(emu.url)],
    ...(authRuntime ? { runtime: authRuntime } : {}),
  });
  const client = new ArcGISClient({ transport, auth });
  return { client, auth, close: () => transport.close() };
}

/** Files in a folder (none: nothing was published, nothing left behind). */
export async function filesIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/**
 * The output holds every source feature of a layer exactly once, in OID order, each equal to the
 * emulator's own feature converted as `export` converts it; `days`: dates compared by their UTC
 * day (shapefile `D` fields).
 */
export function expectSameAsLayer(
  emu: EmulatorHandle,
  service: string,
  features: readonly GeoJSONFeature[],
  options: { layer?: number; oids?: readonly number[]; days?: boolean } = {},
): void {
  const layer = emu.layer(service, options.layer ?? 0);
  const meta = layer.metadata();
  const fields = meta.fields ?? [];
  const convert = createFeatureConverter({
    oidField: layer.objectIdField,
    fields,
    geometryType: meta.geometryType,
    hasZ: meta.hasZ,
    hasM: meta.hasM,
  });
  const dates = fields.filter((f) => f.type === 'esriFieldTypeDate').map((f) => f.name);
  const expectedOids = options.oids ?? layer.objectIds();
  expect(features.map((f) => f.id)).toEqual([...expectedOids]);
  for (const [i, oid] of expectedOids.entries()) {
    const expected = convert(layer.feature(oid)!);
    if (options.days) {
      for (const name of dates) {
        const v = expected.properties[name];
        if (typeof v === 'number') expected.properties[name] = v - (((v % DAY) + DAY) % DAY);
      }
    }
    expect(features[i]).toEqual(JSON.parse(JSON.stringify(expected)));
  }
}

const DAY = 86_400_000;
