/** GDAL (ogrinfo / ogr2ogr 3.6) as the independent reader of GeoPackage files, for the tests. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function found(): Promise<boolean> {
  try {
    await run('ogr2ogr', ['--version']);
    return true;
  } catch {
    return false;
  }
}

export const hasGdal = await found();
export const onCi = process.env.CI === 'true';
if (!hasGdal && !onCi) {
  console.warn(
    '\n\n!!! GDAL (ogrinfo/ogr2ogr) is not installed: the GeoPackage read-back tests are SKIPPED !!!\n\n',
  );
}

export async function ogrinfo(args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return run('ogrinfo', [...args], { maxBuffer: 256 * 1024 * 1024 });
}

export interface GdalFeature {
  properties: Record<string, unknown>;
  geometry: { type: string; coordinates: unknown } | null;
  /** The feature's line of GeoJSON text (to read 64-bit integers exactly). */
  line: string;
}

/** Every feature of a layer, as GeoJSON written by ogr2ogr. */
export async function ogrFeatures(
  path: string,
  layer: string,
): Promise<{ features: GdalFeature[]; stderr: string }> {
  const { stdout, stderr } = await run('ogr2ogr', ['-f', 'GeoJSON', '/vsistdout/', path, layer], {
    maxBuffer: 256 * 1024 * 1024,
  });
  const lines = stdout.split('\n').filter((l) => l.startsWith('{ "type": "Feature"'));
  const parsed = JSON.parse(stdout) as { features: Omit<GdalFeature, 'line'>[] };
  return { features: parsed.features.map((f, i) => ({ ...f, line: lines[i] ?? '' })), stderr };
}

/** The exact digits of an integer property in a feature's GeoJSON line. */
export function integerText(line: string, name: string): string | null {
  const match = new RegExp(`"${name}": (-?\\d+|null)[,} ]`).exec(line);
  return match === null || match[1] === 'null' ? null : match[1]!;
}
