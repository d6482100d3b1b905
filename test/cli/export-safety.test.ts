/**
 * The export command is safe by default: outputs checked before any request, never clobbered,
 * one export per output, the format from --format or the extension, pasted query URLs honoured,
 * log-file errors not swallowed, and Ctrl-C ending with what was written and how to go on.
 * The built binary against the emulator on port 0.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { runBin, startBin } from './run-bin.js';

const USER = 'safe-user';
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}-Xy7`;
const COUNT = 600;

let emu: EmulatorHandle;
let dir: string;
let layerUrl: string;
const env = () => ({ ARCGIS_USERNAME: USER, ARCGIS_PASSWORD: PASSWORD });

beforeAll(async () => {
  emu = await startEmulator({
    users: [{ username: USER, password: PASSWORD }],
    layers: [
      { service: 'Sites', generate: { count: COUNT, geometry: 'point', seed: 11 }, maxRecordCount: 50 },
    ],
  });
  layerUrl = emu.layerUrl('Sites', 0);
  dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-cli-safety-'));
});
afterAll(async () => {
  await emu.stop();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  emu.setFaults({});
  emu.resetStats();
});

function totalRequests(): number {
  return Object.values(emu.stats().requests).reduce((a, b) => a + b, 0);
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function sub(name: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(path, { recursive: true });
  return path;
}

describe('outputs are checked before any token or network call (USAGE, no request)', () => {
  it('refuses an output that is a folder, in a missing or read-only folder, and unusable --stats-json / --log-file', async () => {
    const here = await sub('checks');
    await mkdir(join(here, 'exports'));
    const readOnly = process.getuid?.() === 0 ? '/sys' : join(here, 'read-only');
    if (readOnly !== '/sys') {
      await mkdir(readOnly);
      await chmod(readOnly, 0o555);
    }
    const cases: [string[], RegExp][] = [
      [['-o', './exports'], /exports is a folder/],
      [['-o', 'missing/out.geojson'], /does not exist/],
      [['-o', join(readOnly, 'out.geojson')], /not writable|Cannot create files/],
      [['-o', 'ok.geojson', '--stats-json', 'exports'], /--stats-json file .* is a folder/],
      [['-o', 'ok.geojson', '--stats-json', 'missing/stats.json'], /does not exist/],
      [['-o', 'ok.geojson', '--log-file', 'exports'], /log file .* it is a folder/],
      [['-o', 'ok.geojson', '--log-file', 'missing/audit.log'], /log file .* folder does not exist/],
    ];
    const results = await Promise.all(
      cases.map(([args]) => runBin(['export', layerUrl, ...args], { env: env(), cwd: here })),
    );
    results.forEach((r, i) => {
      const [args, message] = cases[i]!;
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(lastLine(r.stderr)).toMatch(/^error \[USAGE\]: /);
      expect(r.stderr).toMatch(message);
    });
    expect(totalRequests()).toBe(0);
    // `-o ./exports` left nothing beside the folder (no exports.partial, no lock)
    expect((await readdir(here)).sort()).toEqual(
      readOnly === '/sys' ? ['exports'] : ['exports', 'read-only'],
    );
  }, 90_000);

  it('-o x.kml (or .gpx, .zip, .txt) is a USAGE error listing the formats, never GeoJSON', async () => {
    const here = await sub('formats');
    const names = ['x.kml', 'x.gpx', 'x.zip', 'x.txt'];
    const results = await Promise.all(
      names.map((name) => runBin(['export', layerUrl, '-o', name], { env: env(), cwd: here })),
    );
    for (const r of results) {
      expect(r.code, r.stderr).toBe(2);
      expect(lastLine(r.stderr)).toMatch(
        /^error \[USAGE\]: Cannot write \.\w+ files .*geojson.*geojsonseq.*csv/,
      );
    }
    expect(await readdir(here)).toEqual([]);
    expect(totalRequests()).toBe(0);
    // --format decides when given
    const r = await runBin(['export', layerUrl, '-o', 'x.txt', '--format', 'csv', '-q'], {
      env: env(),
      cwd: here,
    });
    expect(r.code, r.stderr).toBe(0);
    expect((await readFile(join(here, 'x.txt'), 'utf8')).split('\r\n')[0]).toMatch(/^OBJECTID,/);
  }, 90_000);
});

describe('an existing output is kept unless --overwrite', () => {
  it('refuses with a hint, replaces with --overwrite', async () => {
    const here = await sub('overwrite');
    const out = join(here, 'sites.geojsonl');
    await writeFile(out, 'precious\n');
    const refused = await runBin(['export', layerUrl, '-o', out], { env: env() });
    expect(refused.code, refused.stderr).toBe(2);
    expect(lastLine(refused.stderr)).toMatch(
      /^error \[USAGE\]: The output .* already exists: pass --overwrite/,
    );
    expect(await readFile(out, 'utf8')).toBe('precious\n');
    expect(totalRequests()).toBe(0);
    const replaced = await runBin(['export', layerUrl, '-o', out, '--overwrite', '-q'], { env: env() });
    expect(replaced.code, replaced.stderr).toBe(0);
    expect((await readFile(out, 'utf8')).trim().split('\n')).toHaveLength(COUNT);
    expect((await readdir(here)).sort()).toEqual(['sites.geojsonl']);
  }, 90_000);
});

describe('one export per output', () => {
  it('a second export to the same output fails at once with OUTPUT_BUSY; the first publishes a valid file', async () => {
    // slow enough (30 pages × 150 ms) to still be running when the second one starts
    emu.setFaults({ latencyMs: 150 });
    const here = await sub('busy');
    const out = join(here, 'sites.geojson');
    const first = startBin(['export', layerUrl, '-o', out, '--concurrency', '1', '--page-size', '20', '-q'], {
      env: env(),
    });
    await until(() => existsSync(`${out}.lock`), 'the first export to take the lock');
    const started = Date.now();
    const second = await runBin(['export', layerUrl, '-o', out, '--overwrite', '-q'], { env: env() });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(first.child.exitCode, 'the first export is still running').toBeNull();
    expect(second.code, second.stderr).toBe(1);
    expect(lastLine(second.stderr)).toMatch(
      new RegExp(
        `^error \\[OUTPUT_BUSY\\]: The output .* is being written by another export \\(pid ${first.child.pid} `,
      ),
    );
    const r = await first.done;
    expect(r.code, r.stderr).toBe(0);
    const collection = JSON.parse(await readFile(out, 'utf8')) as { features: { id: number }[] };
    expect(collection.features.map((f) => f.id)).toEqual([...emu.layer('Sites').objectIds()]);
    expect((await readdir(here)).sort()).toEqual(['sites.geojson']);
  }, 90_000);
});

describe('a pasted …/query?… URL', () => {
  it('honours where, outFields and resultRecordCount, refuses geometry and a conflicting flag', async () => {
    const here = await sub('pasted');
    const out = join(here, 'cat1.geojsonl');
    const url = `${layerUrl}/query?where=category%3D1&outFields=name&f=json&returnGeometry=true&geometry=&spatialRel=esriSpatialRelIntersects`;
    const r = await runBin(['export', url, '-o', out, '-q'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const layer = emu.layer('Sites');
    const expected = layer.objectIds().filter((oid) => layer.feature(oid)!.attributes.category === 1);
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    const features = lines.map((l) => JSON.parse(l) as { id: number; properties: object });
    expect(features.map((f) => f.id)).toEqual(expected);
    for (const f of features) expect(Object.keys(f.properties)).toEqual(['name']);

    // resultRecordCount is a limit: the first features in OID order, and the process ends
    const limited = join(here, 'first120.geojsonl');
    const l = await runBin(
      ['export', `${layerUrl}/query?where=1%3D1&resultRecordCount=120`, '-o', limited, '-q'],
      {
        env: env(),
      },
    );
    expect(l.code, l.stderr).toBe(0);
    const ids = (await readFile(limited, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { id: number }).id);
    expect(ids).toEqual(layer.objectIds().slice(0, 120));

    emu.resetStats();
    const geometry = await runBin(
      [
        'export',
        `${layerUrl}/query?geometry=1,2,3,4&geometryType=esriGeometryEnvelope`,
        '-o',
        join(here, 'g.geojson'),
      ],
      { env: env() },
    );
    expect(geometry.code, geometry.stderr).toBe(2);
    expect(lastLine(geometry.stderr)).toMatch(/^error \[USAGE\]: .*geometry.*not supported/);
    const conflict = await runBin(
      [
        'export',
        `${layerUrl}/query?where=category%3D1`,
        '--where',
        'category=2',
        '-o',
        join(here, 'c.geojson'),
      ],
      {
        env: env(),
      },
    );
    expect(conflict.code, conflict.stderr).toBe(2);
    expect(lastLine(conflict.stderr)).toMatch(/^error \[USAGE\]: --where and the URL's where disagree/);
    expect(totalRequests()).toBe(0);
  }, 90_000);
});

describe('--log-file write errors', () => {
  it.runIf(existsSync('/dev/full'))(
    '/dev/full: warned once on stderr, the export exits non-zero',
    async () => {
      const here = await sub('devfull');
      const out = join(here, 'sites.geojsonl');
      const r = await runBin(['export', layerUrl, '-o', out, '--log-file', '/dev/full'], { env: env() });
      expect(r.code, r.stderr).toBe(1);
      const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning: cannot write the log file'));
      expect(warnings).toHaveLength(1);
      expect(lastLine(r.stderr)).toMatch(
        /^error \[OUTPUT_ERROR\]: The log file \/dev\/full could not be written/,
      );
      expect(r.stderr).not.toContain(PASSWORD);
    },
  );
});

describe('Ctrl-C (SIGINT)', () => {
  it('without --resume: one line says what was written, the partial file and the lock are removed', async () => {
    emu.setFaults({ latencyMs: 40 });
    const here = await sub('sigint');
    const out = join(here, 'sites.geojsonl');
    const run = startBin(['export', layerUrl, '-o', out, '--concurrency', '1'], { env: env() });
    await until(async () => (await readdir(here)).some((n) => n.endsWith('.partial')), 'the partial file');
    await until(() => emu.stats().requests.query! >= 3, 'a few pages');
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^error \[ABORTED\]: The export was interrupted after \d+ features; nothing was kept .*--resume/,
    );
    expect(await readdir(here)).toEqual([]);
  });

  it('with --resume: the line names the partial file and says to run again with --resume, which completes', async () => {
    emu.setFaults({ latencyMs: 40 });
    const here = await sub('sigint-resume');
    const out = join(here, 'sites.geojsonl');
    const args = ['export', layerUrl, '-o', out, '--concurrency', '1', '--resume'];
    const run = startBin(args, { env: env() });
    await until(() => existsSync(`${out}.checkpoint.json`), 'a checkpoint');
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    const line = lastLine(r.stderr);
    expect(line).toMatch(
      /^error \[ABORTED\]: The export was interrupted: \d+ features are kept in .*\.partial with a checkpoint; run the same command again with --resume to continue$/,
    );
    expect(existsSync(`${out}.lock`)).toBe(false);
    expect(existsSync(out)).toBe(false);

    emu.setFaults({});
    const again = await runBin([...args, '-q'], { env: env() });
    expect(again.code, again.stderr).toBe(0);
    const ids = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: number }).id);
    expect(ids).toEqual([...emu.layer('Sites').objectIds()]);
    expect(await readdir(here)).toEqual(['sites.geojsonl']);
  }, 90_000);
});

describe('--help', () => {
  it('documents --overwrite, --csv-excel-safe, the formats and pasted query URLs', async () => {
    const r = await runBin(['export', '--help']);
    expect(r.code).toBe(0);
    for (const text of ['--overwrite', '--csv-excel-safe', 'geojson | geojsonseq | csv', 'query?where=']) {
      expect(r.stdout).toContain(text);
    }
  });
});
