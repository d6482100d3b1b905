/**
 * Integration helpers: a secured emulator on port 0, a real transport + TokenManager + client, and
 * comparison of an output file with the emulator's source features.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { GenerateTokenProvider } from '../../src/auth/generate-token.js';
import { TokenManager } from '../../src/auth/token-manager.js';
import type { Authenticator } from '../../src/auth/types.js';
import { ArcGISClient } from '../../src/client/arcgis-client.js';
import type { TokenPlacement } from '../../src/client/types.js';
import type { Runtime } from '../../src/core/time.js';
import { originOf } from '../../src/core/url.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle, EmulatorOptions, LayerSpec } from '../../src/emulator/types.js';
import { createFeatureConverter } from '../../src/features/geometry/feature.js';
import type { GeoJSONFeature } from '../../src/features/geometry/types.js';
import { createTransport } from '../../src/http/transport.js';
import type { Transport } from '../../src/http/types.js';

export const USER = { username: 'etl-user', password: 'S3cret-Passw0rd!' };

export function pointLayer(service: string, count: number, extra: Partial<LayerSpec> = {}): LayerSpec {
  return { service, generate: { count, geometry: 'point', seed: 7 }, maxRecordCount: 25, ...extra };
}

export async function startSecured(options: Partial<EmulatorOptions> = {}): Promise<EmulatorHandle> {
  return startEmulator({ users: [USER], seed: 1, ...options });
}

export interface Rig {
  transport: Transport;
  auth: TokenManager | undefined;
  client: ArcGISClient;
  close(): Promise<void>;
}

export function rig(
  emu: EmulatorHandle,
  options: {
    password?: string;
    referer?: string;
    placement?: TokenPlacement;
    auth?: Authenticator | false;
    authRuntime?: Partial<Runtime>;
  } = {},
): Rig {
  const transport = createTransport({ retry: { baseDelayMs: 1, maxDelayMs: 5 } });
  let auth: TokenManager | undefined;
  let authenticator: Authenticator | undefined;
  if (options.auth === false) authenticator = undefined;
  else if (options.auth) authenticator = options.auth;
  else {
    const provider = new GenerateTokenProvider({
      tokenUrl: emu.tokenUrl,
      username: USER.username,
      password: options.password ?? USER.password,
      transport,
      ...(options.referer ? { referer: options.referer } : {}),
    });
    auth = new TokenManager({
      provider,
      scope: [originOf(emu.url)],
      ...(options.authRuntime ? { runtime: options.authRuntime } : {}),
    });
    authenticator = auth;
  }
  const client = new ArcGISClient({
    transport,
    auth: authenticator,
    ...(options.placement ? { tokenPlacement: options.placement } : {}),
  });
  return { transport, auth, client, close: () => transport.close() };
}

export interface TempDir {
  dir: string;
  path(name: string): string;
  remove(): Promise<void>;
}

export async function tempDir(prefix = 'arcgis-etl-extract-'): Promise<TempDir> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, path: (name) => join(dir, name), remove: () => rm(dir, { recursive: true, force: true }) };
}

export async function readSeq(path: string): Promise<GeoJSONFeature[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as GeoJSONFeature);
}

/**
 * The output holds every source feature exactly once, each equal to the emulator's own feature
 * converted through the geometry module; optionally in OID order, optionally restricted to `oids`
 * (a `where` slice).
 */
export function expectSameAsSource(
  emu: EmulatorHandle,
  service: string,
  features: readonly GeoJSONFeature[],
  options: { ordered?: boolean; oids?: readonly number[] } = {},
): void {
  const layer = emu.layer(service);
  const meta = layer.metadata();
  const convert = createFeatureConverter({
    oidField: layer.objectIdField,
    fields: meta.fields ?? [],
    geometryType: meta.geometryType,
    hasZ: meta.hasZ,
    hasM: meta.hasM,
  });
  const expectedOids = options.oids ?? layer.objectIds();
  const ids = features.map((f) => f.id as number);
  expect(ids.length - new Set(ids).size, 'duplicate features').toBe(0);
  expect([...ids].sort((a, b) => a - b)).toEqual([...expectedOids]);
  if (options.ordered) expect(ids).toEqual([...expectedOids]);
  const byId = new Map(features.map((f) => [f.id as number, f]));
  let mismatches = 0;
  let firstMismatch: number | undefined;
  for (const oid of expectedOids) {
    const source = layer.feature(oid);
    expect(source, `source feature ${oid}`).toBeDefined();
    if (JSON.stringify(byId.get(oid)) !== JSON.stringify(convert(source!))) {
      mismatches++;
      firstMismatch ??= oid;
    }
  }
  if (firstMismatch !== undefined) {
    // show one difference in full
    expect(byId.get(firstMismatch)).toEqual(
      JSON.parse(JSON.stringify(convert(layer.feature(firstMismatch)!))),
    );
  }
  expect(mismatches).toBe(0);
}
