/**
 * The CLI loads only what its command needs: an export does not pay for the fleet (BullMQ, the
 * Redis client), the pipeline file's parsers (yaml, ajv), the PostgreSQL driver, the audit log's
 * logger, the geometry library of --geometry or the readers of `bulk` downloads. Together they
 * took a quarter of a second of every run's start (measured against Koop, where that was the gap
 * to the fastest peer).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { type TempDir, tempDir } from '../extract/helpers.js';
import { runBin } from './run-bin.js';

/** Loaded on first use only (each is a dependency of a command or an option other than export's). */
const ON_USE = [
  '@redis/client',
  'bullmq',
  'ajv',
  'yaml',
  'pg',
  'pino',
  '@turf/boolean-intersects',
  'shapefile',
  'yauzl',
];

let emu: EmulatorHandle;
let tmp: TempDir;
let preload: string;

beforeAll(async () => {
  emu = await startEmulator({
    layers: [{ service: 'Public', generate: { count: 120, geometry: 'point', seed: 4 }, secured: false }],
  });
  tmp = await tempDir('arcgis-etl-startup-');
  preload = tmp.path('loaded.cjs');
  // at exit, the packages the process loaded (CommonJS ones, also when imported from ESM)
  await writeFile(
    preload,
    `process.on('exit', () => {
      const names = new Set();
      for (const file of Object.keys(require.cache)) {
        const m = file.match(/node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)/);
        if (m) names.add(m[1].replace('\\\\', '/'));
      }
      require('node:fs').writeFileSync(process.env.LOADED_OUT, JSON.stringify([...names]));
    });`,
  );
});
afterAll(async () => {
  await emu?.stop();
  await tmp?.remove();
});

async function loadedBy(args: string[], name: string): Promise<string[]> {
  const out = tmp.path(`${name}.json`);
  const r = await runBin(args, { env: { NODE_OPTIONS: `--require ${preload}`, LOADED_OUT: out } });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(await readFile(out, 'utf8')) as string[];
}

describe('CLI start-up', () => {
  it('limits how far the heap grows between two full collections (core/heap.ts)', async () => {
    const recorder = tmp.path('v8-flags.cjs');
    const out = tmp.path('v8-flags.json');
    await writeFile(
      recorder,
      `const v8 = require('node:v8');
      const flags = [];
      const set = v8.setFlagsFromString;
      v8.setFlagsFromString = (flag) => { flags.push(flag); set(flag); };
      require('node:module').syncBuiltinESMExports(); // what ES modules import from node:v8 too
      process.on('exit', () => require('node:fs').writeFileSync(process.env.FLAGS_OUT, JSON.stringify(flags)));`,
    );
    const r = await runBin(['--version'], { env: { NODE_OPTIONS: `--require ${recorder}`, FLAGS_OUT: out } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(await readFile(out, 'utf8'))).toContain('--heap-growing-percent=100');
  }, 60_000);

  it('an export loads none of the dependencies of other commands', async () => {
    const loaded = await loadedBy(
      ['export', emu.layerUrl('Public', 0), '-o', tmp.path('out.geojsonl'), '--quiet'],
      'export',
    );
    for (const name of ON_USE) expect(loaded, name).not.toContain(name);
  }, 60_000);

  it('--help loads none of them either, and the pipeline parsers come with `run --check`', async () => {
    const help = await loadedBy(['--help'], 'help');
    for (const name of ON_USE) expect(help, name).not.toContain(name);
    const pipeline = tmp.path('pipeline.yaml');
    await writeFile(
      pipeline,
      `version: 1\nsources:\n  - url: ${emu.layerUrl('Public', 0)}\n    output: ${tmp.path('p.geojsonl')}\n`,
    );
    // the check can see packages: these are the pipeline command's own
    const check = await loadedBy(['run', pipeline, '--check'], 'check');
    expect(check).toContain('yaml');
    expect(check).toContain('ajv');
    expect(check).not.toContain('bullmq');
  }, 60_000);
});
