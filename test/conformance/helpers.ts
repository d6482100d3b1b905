/**
 * Conformance suite helpers: the Koop layers of the suite, the CLI run against them, and the check
 * that an output holds exactly the source set (by the stable `sid` each source feature carries,
 * since Koop computes its own OBJECTIDs), in any of the three output formats.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';
import { seededRandom } from '../../src/core/time.js';
import type { GeoJSONGeometry } from '../../src/features/geometry/types.js';
import { geometryToWkt } from '../../src/features/geometry/wkt.js';
import { csvDate, csvText, csvValue } from '../../src/features/writers/csv-cell.js';
import { type BinResult, runBin } from '../cli/run-bin.js';
import { parseCsv } from '../writers/parse-csv.js';
import { BASE_FIELDS, generateEvents, generateFeatures } from './koop-data.mjs';
import type { KoopHandle, KoopLayerSpec, SourceFeature } from './koop-server.mjs';

export { startKoop } from './koop-server.mjs';
export type { KoopHandle, SourceFeature };

export const STRATEGIES = ['auto', 'offset', 'ids', 'oid-range', 'envelope'] as const;
export const FORMATS = ['geojson', 'geojsonseq', 'csv'] as const;
export type OutputFormat = (typeof FORMATS)[number];

/** The small layers of the matrix (the 50,000-feature layer has its own test file). */
export function matrixLayers(): KoopLayerSpec[] {
  return [
    // issue 11's reproduction: 3,334 points, maxRecordCount 2000 (Koop's default); seed 18 makes the
    // first two OBJECTIDs in Koop's (file) order ascend, so that a two-row offset probe passes and
    // pages come back unsorted after it (polygons and capped start descending)
    { name: 'points', features: generateFeatures(seededRandom(18), 'point', 3_334), fields: BASE_FIELDS },
    // 40 null geometries of 400 polygons (holes, multipart) and 20 of 300 lines: issue 11's envelope case
    {
      name: 'polygons',
      features: generateFeatures(seededRandom(12), 'polygon', 400, 40),
      fields: BASE_FIELDS,
    },
    { name: 'lines', features: generateFeatures(seededRandom(13), 'line', 300, 20), fields: BASE_FIELDS },
    // a small maxRecordCount: every page size of the matrix is above it
    {
      name: 'capped',
      features: generateFeatures(seededRandom(14), 'point', 230),
      fields: BASE_FIELDS,
      maxRecordCount: 40,
    },
  ];
}

/** Points with `when`, an Integer beyond 32 bits (issue 12). */
export function eventsLayer(): KoopLayerSpec {
  return {
    name: 'events',
    features: generateEvents(seededRandom(15), 300),
    fields: [...BASE_FIELDS, { name: 'when', type: 'Integer' }],
  };
}

/**
 * Koop's OBJECTID is a 31-bit hash of each feature: of seed 21's 50,000 points, sids 5974 and 36809
 * get one OBJECTID, and so do 10631 and 37247 (koop-collisions.test.ts checks it).
 */
export const COLLIDING_SIDS = [5974, 36809, 10631, 37247] as const;

/** 300 points of seed 21: 296 of them plus the two colliding pairs, spread over the file. */
export function collisionsLayer(): KoopLayerSpec {
  const all = generateFeatures(seededRandom(21), 'point', 50_000);
  const features = all.slice(0, 296);
  COLLIDING_SIDS.forEach((sid, i) => {
    features.splice(40 + i * 70, 0, all[sid - 1]!);
  });
  return { name: 'collisions', features, fields: BASE_FIELDS };
}

export function credentialsEnv(koop: KoopHandle): Record<string, string> {
  return { ARCGIS_USERNAME: koop.credentials.username, ARCGIS_PASSWORD: koop.credentials.password };
}

/** `arcgis-etl export <layer> -o <output> …args` with the Koop user's credentials, no HOME. */
export function exportLayer(
  koop: KoopHandle,
  layer: string,
  output: string,
  args: readonly string[],
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<BinResult> {
  return runBin(['export', koop.layerUrl(layer), '-o', output, ...args], {
    env: { HOME: undefined, ...credentialsEnv(koop) },
    timeoutMs: options.timeoutMs ?? 110_000,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/** The one-line error of a failed run (`error [CODE]: message`), or undefined. */
export function errorLine(stderr: string): string | undefined {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .find((l) => /^error \[[A-Z0-9_]+\]: \S/.test(l));
}

/**
 * Exit 0 with the exact source set, or a clear refusal: non-zero, an `error [CODE]: message` line,
 * and no output file published.
 */
export async function expectExactSetOrRefusal(
  r: BinResult,
  output: string,
  format: OutputFormat,
  source: readonly SourceFeature[],
  oids: ReadonlyMap<number, number>,
): Promise<'exact' | 'refused'> {
  if (r.code === 0) {
    await expectExactSet(output, format, source, oids);
    return 'exact';
  }
  expect(r.code, `killed or crashed: ${r.stderr.slice(-2000)}`).not.toBeNull();
  expect(
    errorLine(r.stderr),
    `a non-zero exit without a clear error line: ${r.stderr.slice(-2000)}`,
  ).toBeDefined();
  expect(existsSync(output), 'a failed export published its output').toBe(false);
  return 'refused';
}

/** Koop's OBJECTID of every source feature, by `sid`. */
export async function koopOids(koop: KoopHandle, layer: string): Promise<Map<number, number>> {
  const token = await koopToken(koop);
  const body = new URLSearchParams({ f: 'json', where: '1=1', outFields: 'sid,OBJECTID', token });
  body.set('returnGeometry', 'false');
  const response = await fetch(`${koop.layerUrl(layer)}/query`, { method: 'POST', body });
  const json = (await response.json()) as { features: { attributes: { sid: number; OBJECTID: number } }[] };
  return new Map(json.features.map((f) => [f.attributes.sid, f.attributes.OBJECTID]));
}

export async function koopToken(koop: KoopHandle): Promise<string> {
  const body = new URLSearchParams({ ...koop.credentials, f: 'json', client: 'requestip' });
  const response = await fetch(koop.tokenUrl, { method: 'POST', body });
  const json = (await response.json()) as { token?: string };
  if (typeof json.token !== 'string') throw new Error(`no token from Koop: ${JSON.stringify(json)}`);
  return json.token;
}

interface OutFeature {
  type: string;
  id?: unknown;
  geometry: unknown;
  properties: Record<string, unknown>;
}

async function readFeatures(output: string, format: 'geojson' | 'geojsonseq'): Promise<OutFeature[]> {
  const text = await readFile(output, 'utf8');
  if (format === 'geojson') {
    const fc = JSON.parse(text) as { type: string; features: OutFeature[] };
    expect(fc.type).toBe('FeatureCollection');
    return fc.features;
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as OutFeature);
}

function expectSids(sids: readonly number[], source: readonly SourceFeature[]): void {
  expect(sids.length - new Set(sids).size, 'duplicate features').toBe(0);
  const expected = source.map((f) => f.properties.sid as number).sort((a, b) => a - b);
  const written = new Set(sids);
  const missing = expected.filter((sid) => !written.has(sid));
  expect(missing.length, `missing features (sids ${missing.slice(0, 10).join(', ')}…)`).toBe(0);
  expect([...sids].sort((a, b) => a - b)).toEqual(expected);
}

/** The output holds every source feature exactly once, with its geometry and attributes. */
export async function expectExactSet(
  output: string,
  format: OutputFormat,
  source: readonly SourceFeature[],
  oids: ReadonlyMap<number, number>,
): Promise<void> {
  if (format === 'csv') {
    expectCsvSet(await readFile(output, 'utf8'), source, oids);
    return;
  }
  const features = await readFeatures(output, format);
  expectSids(
    features.map((f) => f.properties.sid as number),
    source,
  );
  const bySid = new Map(features.map((f) => [f.properties.sid as number, f]));
  const mismatched: { actual: unknown; expected: unknown }[] = [];
  for (const src of source) {
    const sid = src.properties.sid as number;
    const oid = oids.get(sid);
    const expected = {
      type: 'Feature',
      id: oid,
      geometry: src.geometry,
      properties: { OBJECTID: oid, ...src.properties },
    };
    const actual = bySid.get(sid);
    if (!isDeepStrictEqual(actual, expected)) mismatched.push({ actual, expected });
  }
  if (mismatched[0] !== undefined) expect(mismatched[0].actual).toEqual(mismatched[0].expected);
  expect(mismatched).toHaveLength(0);
}

/** CSV: the header, then one row per source feature; cells as our CSV writes the source values. */
function expectCsvSet(
  text: string,
  source: readonly SourceFeature[],
  oids: ReadonlyMap<number, number>,
): void {
  const [header, ...rows] = parseCsv(text);
  const names = Object.keys(source[0]?.properties ?? {});
  expect(header).toEqual(['OBJECTID', ...names, 'geometry']);
  const sidAt = 1 + names.indexOf('sid');
  expectSids(
    rows.map((row) => Number(row[sidAt])),
    source,
  );
  const bySid = new Map(rows.map((row) => [Number(row[sidAt]), row]));
  const mismatched: { actual: unknown; expected: unknown }[] = [];
  for (const src of source) {
    const sid = src.properties.sid as number;
    const cells = [
      csvValue(oids.get(sid)),
      ...names.map((name) =>
        name === 'updated' ? csvDate(src.properties[name]) : csvValue(src.properties[name]),
      ),
      csvText(geometryToWkt(src.geometry as GeoJSONGeometry | null)),
    ];
    const expected = parseCsv(`${cells.join(',')}\r\n`)[0];
    const actual = bySid.get(sid);
    if (!isDeepStrictEqual(actual, expected)) mismatched.push({ actual, expected });
  }
  if (mismatched[0] !== undefined) expect(mismatched[0].actual).toEqual(mismatched[0].expected);
  expect(mismatched).toHaveLength(0);
}

/** The features a `--resume` checkpoint says are written (0 while it is absent or being replaced). */
export async function checkpointFeatures(output: string): Promise<number> {
  try {
    const parsed = JSON.parse(await readFile(`${output}.checkpoint.json`, 'utf8')) as { features?: unknown };
    return typeof parsed.features === 'number' ? parsed.features : 0;
  } catch {
    return 0;
  }
}

/** A hook that holds a request until its client goes away (the request is never answered). */
export function stall(_req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    res.on('close', () => resolve(true));
  });
}

/** A hook answer: ArcGIS's error envelope (HTTP 200), a permanent failure of the request. */
export function failPermanently(_req: IncomingMessage, res: ServerResponse): boolean {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code: 400, message: 'Unable to complete operation.', details: [] } }));
  return true;
}

/** Resolves when `until` holds, checking every 10 ms (or rejects after `timeoutMs`). */
export async function waitFor(until: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await until())) {
    if (Date.now() > deadline) throw new Error('waitFor: timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
