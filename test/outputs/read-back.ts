/**
 * Reading outputs back with tools we did not write: GDAL (ogr2ogr → GeoJSON, ogrinfo for field
 * types) and each format's own reader library; and a canonical form of geometries for comparing
 * (rings closed, started at their smallest point, counter-clockwise; single parts as multi).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach } from 'vitest';

const run = promisify(execFile);

export interface ReadFeature {
  geometry: { type: string; coordinates: unknown } | null;
  properties: Record<string, unknown>;
}

/** Every feature GDAL reads from `path` (first layer), as GeoJSON. */
export async function gdalFeatures(path: string): Promise<ReadFeature[]> {
  const { stdout } = await run('ogr2ogr', ['-f', 'GeoJSON', '/vsistdout/', path], { maxBuffer: 1 << 28 });
  return (JSON.parse(stdout) as { features: ReadFeature[] }).features;
}

/** Field name → GDAL type (`Integer64`, `String`, …), and the layer's geometry type and count. */
export async function gdalInfo(
  path: string,
): Promise<{ fields: Record<string, string>; geometry: string; count: number; srs: string }> {
  const { stdout } = await run('ogrinfo', ['-so', '-al', '-ro', path]);
  const fields: Record<string, string> = {};
  let inFields = false;
  for (const line of stdout.split('\n')) {
    if (/^Data axis to CRS axis mapping|^FID Column|^Geometry Column/.test(line)) {
      inFields = true;
      continue;
    }
    const m = /^([^:\s][^:]*): (\w+) \(/.exec(line);
    if (inFields && m) fields[m[1]!] = m[2]!;
  }
  return {
    fields,
    geometry: /^Geometry: (.+)$/m.exec(stdout)?.[1] ?? '',
    count: Number(/^Feature Count: (\d+)$/m.exec(stdout)?.[1] ?? -1),
    srs: /ID\["EPSG",(\d+)\]\]\s*$/m.exec(stdout.split('Data axis')[0] ?? '')?.[1] ?? '',
  };
}

type Pos = number[];

function ringArea(ring: Pos[]): number {
  let sum = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    sum += (ring[j]![0]! - ring[i]![0]!) * (ring[j]![1]! + ring[i]![1]!);
  }
  return sum;
}

/** Twice the signed area: > 0 counter-clockwise. */
export const signedArea = ringArea;

function canonRing(ring: Pos[]): Pos[] {
  let open = ring.slice(0, -1);
  if (ringArea(ring) < 0) open = open.reverse();
  let min = 0;
  for (let i = 1; i < open.length; i++) {
    const a = open[i]!;
    const b = open[min]!;
    if (a[0]! < b[0]! || (a[0] === b[0] && a[1]! < b[1]!)) min = i;
  }
  return [...open.slice(min), ...open.slice(0, min)];
}

/** A geometry in a form two writers of the same shape agree on. */
export function canonical(g: { type: string; coordinates: unknown } | null): unknown {
  if (g === null) return null;
  const c = g.coordinates as never;
  switch (g.type) {
    case 'Point':
      return { type: 'Point', coordinates: c };
    case 'MultiPoint':
      return { type: 'MultiPoint', coordinates: c };
    case 'LineString':
      return { type: 'MultiLineString', coordinates: [c] };
    case 'MultiLineString':
      return { type: 'MultiLineString', coordinates: c };
    case 'Polygon':
      return { type: 'MultiPolygon', coordinates: [(c as Pos[][]).map(canonRing)] };
    case 'MultiPolygon':
      return { type: 'MultiPolygon', coordinates: (c as Pos[][][]).map((p) => p.map(canonRing)) };
    default:
      throw new Error(`unexpected geometry ${g.type}`);
  }
}

/**
 * A fresh temp folder for each test of the calling file (made before it, removed after it): `path`
 * and `file` name the current test's.
 */
export function tempDirEachTest(): { readonly path: string; file: (name: string) => string } {
  let current: Awaited<ReturnType<typeof tempDir>> | undefined;
  beforeEach(async () => {
    current = await tempDir();
  });
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
  const now = () => {
    if (current === undefined) throw new Error('tempDirEachTest: used outside a test');
    return current;
  };
  return {
    get path() {
      return now().path;
    },
    file: (name) => now().file(name),
  };
}

export async function tempDir(): Promise<{
  path: string;
  file: (name: string) => string;
  cleanup: () => Promise<void>;
}> {
  const path = await mkdtemp(join(tmpdir(), 'arcgis-etl-outputs-'));
  return {
    path,
    file: (name) => join(path, name),
    cleanup: () => rm(path, { recursive: true, force: true }),
  };
}
