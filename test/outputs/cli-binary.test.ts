/**
 * `arcgis-etl export` to GeoPackage and GeoParquet as real processes against the emulator: every
 * geometry kind (points with Z, multipoints, lines, polygons with holes and multipart, null
 * geometries, unicode names, dates, nulls) compared with the GeoJSON export of the same layer, read
 * back by GDAL (GeoPackage) and hyparquet (GeoParquet); SIGKILL then --resume gives the same rows
 * (GeoPackage) or bytes (GeoParquet) as an uninterrupted run; a write error (file size limit) and
 * a table that exists are one clear line, with nothing half-written published.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle, GeneratedGeometry } from '../../src/emulator/types.js';
import { openDatabase } from '../../src/outputs/gpkg/sqlite.js';
import { checkpointFeatures, watch } from '../chaos/cli-child.js';
import { BIN, runBin, startBin } from '../cli/run-bin.js';
import { hasGdal, ogrFeatures } from './gdal.js';
import { readParquet } from './parquet-read.js';

const USER = 'bin-user';
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}-Xy7`;
const env = () => ({ ARCGIS_USERNAME: USER, ARCGIS_PASSWORD: PASSWORD });

const LAYERS: { service: string; geometry: GeneratedGeometry; hasZ?: boolean }[] = [
  { service: 'PointsZ', geometry: 'point', hasZ: true },
  { service: 'MultiPoints', geometry: 'multipoint' },
  { service: 'Lines', geometry: 'polyline' },
  { service: 'Parcels', geometry: 'mixed-polygon' },
  { service: 'ParcelsZ', geometry: 'multipolygon', hasZ: true },
];
const COUNT = 150;

let emu: EmulatorHandle;
let dir: string;
beforeAll(async () => {
  emu = await startEmulator({
    users: [{ username: USER, password: PASSWORD }],
    layers: [
      ...LAYERS.map((l, i) => ({
        service: l.service,
        generate: {
          count: COUNT,
          geometry: l.geometry,
          seed: 40 + i,
          hasZ: l.hasZ === true,
          nullGeometries: 0.1,
        },
        maxRecordCount: 50,
      })),
      { service: 'Big', generate: { count: 1500, geometry: 'mixed-polygon', seed: 9 }, maxRecordCount: 25 },
    ],
  });
  dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-binary-'));
}, 60_000);
afterAll(async () => {
  await emu.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Reference {
  properties: Record<string, unknown>;
  geometry: { type: string; coordinates: unknown } | null;
}

async function exportTo(service: string, output: string, extra: string[] = []) {
  const r = await runBin(['export', emu.layerUrl(service), '-o', output, '-q', ...extra], {
    env: env(),
    timeoutMs: 120_000,
  });
  expect(r.code, r.stderr).toBe(0);
}

async function reference(service: string): Promise<Reference[]> {
  const path = join(dir, `${service}.geojson`);
  if (!existsSync(path)) await exportTo(service, path);
  return (JSON.parse(await readFile(path, 'utf8')) as { features: Reference[] }).features;
}

function multi(g: Reference['geometry']): Reference['geometry'] {
  if (g === null) return null;
  if (g.type === 'LineString') return { type: 'MultiLineString', coordinates: [g.coordinates] };
  if (g.type === 'Polygon') return { type: 'MultiPolygon', coordinates: [g.coordinates] };
  return g;
}

function rounded(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value), (_k, v: unknown) =>
    typeof v === 'number' ? Math.round(v * 1e9) / 1e9 : v,
  );
}

function rows(path: string, sql: string): Record<string, unknown>[] {
  const db = openDatabase(path);
  try {
    const statement = db.prepare(sql) as ReturnType<typeof db.prepare> & {
      setReadBigInts?: (on: boolean) => void;
      safeIntegers?: (on: boolean) => void;
    };
    statement.setReadBigInts?.(true);
    statement.safeIntegers?.(true);
    return statement.all().map((row) => ({ ...row }));
  } finally {
    db.close();
  }
}

/** Date fields (generated layers are editable by default: CreationDate and EditDate too). */
const DATE_FIELDS = new Set(['created', 'CreationDate', 'EditDate']);

describe('export to GeoPackage and GeoParquet: the exact source set', () => {
  for (const layer of LAYERS) {
    it.runIf(hasGdal)(
      `${layer.service} → .gpkg, read back by ogr2ogr`,
      async () => {
        const source = await reference(layer.service);
        const output = join(dir, `${layer.service}.gpkg`);
        await exportTo(layer.service, output);
        const { features, stderr } = await ogrFeatures(output, layer.service);
        expect(stderr).toBe('');
        expect(features).toHaveLength(source.length);
        expect(source.some((f) => f.geometry === null)).toBe(true);
        for (const [i, f] of features.entries()) {
          const s = source[i]!;
          expect(Object.keys(f.properties)).toEqual(Object.keys(s.properties));
          for (const [name, value] of Object.entries(s.properties)) {
            const got = f.properties[name];
            if (DATE_FIELDS.has(name)) expect(Date.parse(String(got).replace(/\//g, '-'))).toBe(value);
            else expect(got, `${name} of feature ${i}`).toEqual(value);
          }
          expect(rounded(f.geometry)).toEqual(rounded(multi(s.geometry)));
        }
      },
      120_000,
    );

    it(`${layer.service} → .parquet, read back by hyparquet`, async () => {
      const source = await reference(layer.service);
      const output = join(dir, `${layer.service}.parquet`);
      await exportTo(layer.service, output);
      const { rows: read, geo } = await readParquet(output);
      expect(read).toHaveLength(source.length);
      expect(geo?.version).toBe('1.1.0');
      for (const [i, row] of read.entries()) {
        const s = source[i]!;
        for (const [name, value] of Object.entries(s.properties)) {
          const got = row[name] ?? null;
          if (DATE_FIELDS.has(name)) expect(got === null ? null : (got as Date).getTime()).toBe(value);
          else if (name === 'OBJECTID') expect(got).toBe(BigInt(value as number));
          else expect(got, `${name} of feature ${i}`).toEqual(value);
        }
        expect(row.geometry ?? null).toEqual(multi(s.geometry));
      }
    }, 120_000);
  }
});

describe('kill -9 and --resume', () => {
  for (const format of ['gpkg', 'parquet'] as const) {
    it(`${format}: SIGKILLed mid-export, resumed, equals an uninterrupted export`, async () => {
      const ref = join(dir, `big-ref.${format}`);
      await exportTo('Big', ref);
      const output = join(dir, `big.${format}`);
      const args = [
        'export',
        emu.layerUrl('Big'),
        '-o',
        output,
        '-q',
        '--resume',
        '--strategy',
        'oid-range',
        '--concurrency',
        '1',
      ];
      const child = startBin(args, { env: env(), timeoutMs: 120_000 });
      const checkpoint = `${output}.checkpoint.json`;
      const killed = await watch(async () => (await checkpointFeatures(checkpoint)) >= 500, child.done);
      if (killed) child.child.kill('SIGKILL');
      const first = await child.done;
      expect(killed, first.stderr).toBe(true);
      expect(first.code).toBeNull();
      expect(existsSync(output)).toBe(false);
      const resumedFrom = await checkpointFeatures(checkpoint);
      expect(resumedFrom).toBeGreaterThanOrEqual(500);
      expect(resumedFrom).toBeLessThan(1500);

      const second = await runBin(args, { env: env(), timeoutMs: 120_000 });
      expect(second.code, second.stderr).toBe(0);
      if (format === 'parquet') {
        expect(Buffer.compare(await readFile(output), await readFile(ref))).toBe(0);
      } else {
        expect(rows(output, 'SELECT * FROM big ORDER BY fid')).toEqual(
          rows(ref, 'SELECT * FROM "big-ref" ORDER BY fid'),
        );
        expect(rows(output, 'SELECT * FROM rtree_big_geom ORDER BY id')).toEqual(
          rows(ref, 'SELECT * FROM "rtree_big-ref_geom" ORDER BY id'),
        );
      }
      const left = (await readdir(dir)).filter((n) => n.startsWith(`big.${format}.`));
      expect(left).toEqual([]);
    }, 180_000);
  }
});

/** The CLI with a file size limit (and SIGXFSZ ignored): a write past it fails with EFBIG. */
function runLimited(args: string[], blocks: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'sh',
      ['-c', `trap '' XFSZ; ulimit -f ${blocks}; exec "$0" "$@"`, process.execPath, BIN, ...args],
      {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env() },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('bad input: one clear line, nothing half-written published', () => {
  for (const format of ['gpkg', 'parquet'] as const) {
    it(`${format}: a write error (disk full, injected as a file size limit)`, async () => {
      const sub = await mkdtemp(join(dir, `full-${format}-`));
      const output = join(sub, `full.${format}`);
      // 512 KB: the whole layer is larger (about 1.2 MB either way)
      const r = await runLimited(['export', emu.layerUrl('Big'), '-o', output, '-q'], 512);
      expect(r.code, r.stderr).not.toBe(0);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^error \[OUTPUT_ERROR\]: Cannot write .*(too large|full|disk|I\/O)/i);
      expect(await readdir(sub)).toEqual([]);
    }, 120_000);
  }

  it('gpkg: --append-layer with a table that exists is refused, the file untouched; without it, the file is refused', async () => {
    const output = join(dir, 'two.gpkg');
    await exportTo('Lines', output, ['--layer-name', 'lines']);
    await exportTo('MultiPoints', output, ['--layer-name', 'points', '--append-layer']);
    const before = await readFile(output);
    const again = await runBin(
      ['export', emu.layerUrl('Lines'), '-o', output, '--layer-name', 'Lines', '--append-layer'],
      { env: env() },
    );
    expect(again.code).toBe(2);
    expect(again.stderr.trim().split('\n').at(-1)).toMatch(
      /^error \[USAGE\]: The GeoPackage .* already has a table named Lines/,
    );
    const plain = await runBin(['export', emu.layerUrl('Lines'), '-o', output], { env: env() });
    expect(plain.code).toBe(2);
    expect(plain.stderr.trim().split('\n').at(-1)).toMatch(/already exists: pass --overwrite/);
    expect(Buffer.compare(await readFile(output), before)).toBe(0);
    expect((await readdir(dir)).filter((n) => n.startsWith('two.gpkg.'))).toEqual([]);
    expect(
      rows(output, 'SELECT table_name FROM gpkg_contents ORDER BY table_name').map((r) => r.table_name),
    ).toEqual(['lines', 'points']);
  }, 120_000);
});
