/**
 * CLI end to end: the built binary against the emulator on port 0.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { runBin } from './run-bin.js';

const USER = 'cli-user';
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}-Zq9`;
const COUNT = 1234;

let emu: EmulatorHandle;
let dir: string;
let layerUrl: string;
const env = () => ({ ARCGIS_USERNAME: USER, ARCGIS_PASSWORD: PASSWORD });

beforeAll(async () => {
  emu = await startEmulator({
    users: [{ username: USER, password: PASSWORD }],
    layers: [
      {
        service: 'Parcels',
        generate: { count: COUNT, geometry: 'mixed-polygon', seed: 3 },
        maxRecordCount: 200,
      },
      { service: 'Public', generate: { count: 50, geometry: 'point', seed: 4 }, secured: false },
    ],
  });
  layerUrl = emu.layerUrl('Parcels', 0);
  dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-cli-'));
});
afterAll(async () => {
  await emu.stop();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => emu.resetStats());

function oidsOfSeq(text: string): number[] {
  return text
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { id: number }).id);
}

describe('arcgis-etl export', () => {
  it('exports every feature exactly once, with a summary line and --stats-json', async () => {
    const out = join(dir, 'parcels.geojsonseq');
    const statsFile = join(dir, 'stats.json');
    const r = await runBin(['export', layerUrl, '-o', out, '--stats-json', statsFile], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const oids = oidsOfSeq(await readFile(out, 'utf8'));
    expect(oids).toEqual([...emu.layer('Parcels').objectIds()]);
    expect(new Set(oids).size).toBe(COUNT);
    const summary = r.stderr.trim().split('\n').at(-1) ?? '';
    expect(summary).toMatch(
      /^exported 1,234 features · 7 pages · \d+ requests · 0 retries · 1 tokens generated · 0 refreshes/,
    );
    const stats = JSON.parse(await readFile(statsFile, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(stats).sort()).toEqual(
      [
        'concurrency',
        'elapsedMs',
        'features',
        'pages',
        'queryFormat',
        'requests',
        'retries',
        'strategy',
        'tokenRefreshes',
        'tokensGenerated',
      ].sort(),
    );
    expect(stats).toMatchObject({
      features: COUNT,
      pages: 7,
      tokensGenerated: 1,
      tokenRefreshes: 0,
      strategy: 'offset',
      queryFormat: 'pbf',
      // adaptive by default: starts at 4, within the default bound of 16
      concurrency: {
        mode: 'adaptive',
        initial: 4,
        throttling: { http429: 0, http503: 0, retryAfterWaits: 0, retryAfterMs: 0 },
      },
    });
    const concurrency = stats.concurrency as { min: number; max: number; final: number; timeline: unknown[] };
    expect(concurrency.min).toBeGreaterThanOrEqual(1);
    expect(concurrency.max).toBeLessThanOrEqual(16);
    expect(concurrency.final).toBeGreaterThanOrEqual(concurrency.min);
    expect(concurrency.final).toBeLessThanOrEqual(concurrency.max);
    expect(Array.isArray(concurrency.timeline)).toBe(true);
    expect(summary).toContain('strategy offset (f=pbf)');
    expect(emu.stats().tokens).toBe(1);
    expect(r.stderr + r.stdout).not.toContain(PASSWORD);
  });

  it('--log-file appends every token event as redacted JSON lines, mode 0600', async () => {
    const out = join(dir, 'logged.geojsonseq');
    const log = join(dir, 'audit.log');
    const r = await runBin(['export', layerUrl, '-o', out, '-q', '--log-file', log], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const text = await readFile(log, 'utf8');
    const events = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; username?: string; tokenUrl?: string; time: string });
    const generated = events.find((e) => e.msg === 'token.generated');
    expect(generated).toMatchObject({ username: USER, tokenUrl: emu.tokenUrl });
    expect(events.some((e) => e.msg === 'page.fetched')).toBe(true);
    expect(text).not.toContain(PASSWORD);
    expect(statSync(log).mode & 0o777).toBe(0o600);
  });

  it('writes CSV (by extension) and GeoJSON to stdout', async () => {
    const csv = join(dir, 'parcels.csv');
    const r1 = await runBin(['export', layerUrl, '-o', csv, '--quiet'], { env: env() });
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.stderr).toBe('');
    const lines = (await readFile(csv, 'utf8')).trim().split(/\r?\n/);
    expect(lines[0]).toMatch(/^OBJECTID,/);
    expect(lines[0]).toMatch(/geometry/);
    expect(lines[1]).toMatch(/POLYGON/);
    const r2 = await runBin(['export', emu.layerUrl('Public'), '-o', '-', '--quiet'], { env: {} });
    expect(r2.code, r2.stderr).toBe(0);
    const fc = JSON.parse(r2.stdout) as { type: string; features: unknown[] };
    expect(fc.type).toBe('FeatureCollection');
    expect(fc.features).toHaveLength(50);
  });

  it('a wrong password: one token request, exit 3, a one-line error, no output left behind', async () => {
    const out = join(dir, 'wrong.geojson');
    const wrong = `wrong-${PASSWORD}`;
    const r = await runBin(['export', layerUrl, '-o', out], {
      env: { ARCGIS_USERNAME: USER, ARCGIS_PASSWORD: wrong },
    });
    expect(r.code).toBe(3);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^error \[BAD_CREDENTIALS\]/);
    expect(r.stderr).not.toContain(wrong);
    expect(emu.stats().tokensIssued.server ?? 0).toBe(0);
    expect(emu.stats().badLogins).toBe(1);
    expect(emu.stats().requests.generateToken).toBe(1);
    expect(existsSync(out)).toBe(false);
    expect((await readdir(dir)).filter((f) => f.startsWith('wrong'))).toEqual([]);
  });

  it('refuses a password given as a flag without echoing it', async () => {
    const secret = 'flag-secret-81723';
    for (const args of [
      ['export', layerUrl, '-o', 'x.geojson', `--password=${secret}`],
      ['export', layerUrl, '-o', 'x.geojson', '--password', secret],
      ['token', layerUrl, `--client-secret=${secret}`],
    ]) {
      const r = await runBin(args, { env: env() });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/not accepted as command-line flags/);
      expect(r.stderr + r.stdout).not.toContain(secret);
    }
  });

  it('refuses plain http to a non-loopback host before any request', async () => {
    const r = await runBin(
      ['export', 'http://example.invalid/arcgis/rest/services/X/FeatureServer/0', '-o', 'x.json'],
      {
        env: env(),
      },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error \[INSECURE_URL\]/m);
  });

  it('names a missing layer (exit 4) and bad usage (exit 2)', async () => {
    const missing = await runBin(['export', emu.layerUrl('Nope', 0), '-o', join(dir, 'n.json')], {
      env: env(),
    });
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/^error \[LAYER_NOT_FOUND\]/m);
    const usage = await runBin(['export', layerUrl, '-o', 'x', '--strategy', 'sideways'], { env: env() });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--strategy must be one of/);
  });

  it('takes the password from stdin or from a command', async () => {
    const out1 = join(dir, 'stdin.geojsonseq');
    const r1 = await runBin(['export', emu.layerUrl('Parcels'), '-o', out1, '--password-stdin', '-q'], {
      env: { ARCGIS_USERNAME: USER },
      stdin: `${PASSWORD}\n`,
    });
    expect(r1.code, r1.stderr).toBe(0);
    const out2 = join(dir, 'cmd.geojsonseq');
    const r2 = await runBin(['export', emu.layerUrl('Parcels'), '-o', out2, '-q'], {
      env: { ARCGIS_USERNAME: USER, ARCGIS_PASSWORD_COMMAND: `printf '%s\\n' '${PASSWORD}'` },
    });
    expect(r2.code, r2.stderr).toBe(0);
    expect(oidsOfSeq(await readFile(out2, 'utf8'))).toHaveLength(COUNT);
  });
});

describe('arcgis-etl info, token, help', () => {
  it('info describes a layer and a service', async () => {
    const r = await runBin(['info', layerUrl, '--json'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(info).toMatchObject({
      count: COUNT,
      objectIdField: 'OBJECTID',
      supportsPagination: true,
      maxRecordCount: 200,
    });
    const svc = await runBin(['info', layerUrl.replace(/\/0$/, '')], { env: env() });
    expect(svc.code, svc.stderr).toBe(0);
    expect(svc.stdout).toMatch(/layer 0 {2}Parcels/);
  });

  it('token shows the expiry but prints the token only when asked', async () => {
    const r = await runBin(['token', layerUrl, '--json'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(info.username).toBe(USER);
    expect(typeof info.expiresAt).toBe('number');
    expect(info).not.toHaveProperty('token');
    const printed = await runBin(['token', layerUrl, '--print-token'], { env: env() });
    expect(printed.code, printed.stderr).toBe(0);
    const token = printed.stdout.trim();
    expect(token.length).toBeGreaterThan(10);
    expect(r.stdout).not.toContain(token);
  });

  it('--help documents every command and every export option', async () => {
    const top = await runBin(['--help']);
    expect(top.code).toBe(0);
    for (const cmd of ['export', 'info', 'token', 'demo', 'emulator']) expect(top.stdout).toContain(cmd);
    const help = await runBin(['export', '--help']);
    for (const flag of [
      '--format',
      '--where',
      '--fields',
      '--out-sr',
      '--strategy',
      '--concurrency',
      '--page-size',
      '--resume',
      '--stats-json',
      '--quiet',
      '--verbose',
      '--portal',
      '--token-url',
      '--client',
      '--referer',
      '--expiration',
      '--token-in',
      '--token-cache',
      '--password-stdin',
    ]) {
      expect(help.stdout).toContain(flag);
    }
  });
});
