/**
 * `arcgis-etl login` / `logout` end to end: the built CLI as real processes against the emulator,
 * a scripted browser following the URL the CLI prints, an encrypted file cache, and an export that
 * then runs with ARCGIS_CLIENT_ID alone (no password, no secret).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { BIN, runBin } from '../cli/run-bin.js';
import { scriptedBrowser } from './emulators.js';
import { uniqueSecret } from './helpers.js';

const user = { username: 'ana', password: uniqueSecret('cli-pw') };
const cacheKey = uniqueSecret('cache-key');
let emu: EmulatorHandle;
let dir: string;
let cacheSpec: string;

beforeAll(async () => {
  emu = await startEmulator({
    users: [user],
    apps: [{ clientId: 'etl-cli', redirectUris: ['http://127.0.0.1/callback'] }],
    layers: [{ service: 'Parcels', generate: { count: 25, geometry: 'point', seed: 7 }, maxRecordCount: 10 }],
  });
  dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-login-'));
  cacheSpec = `file:${join(dir, 'tokens.json')}`;
});
afterAll(async () => {
  await emu.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Runs `login` as a process; when it prints the authorization URL, the scripted browser signs in. */
function runLogin(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string; visit: unknown }>(
    (resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'login', ...args], {
        env: { PATH: process.env.PATH ?? '', HOME: dir, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let visit: Promise<unknown> | undefined;
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        const url = /^\s+(http\S+oauth2\/authorize\S+)\r?\n/m.exec(stderr)?.[1];
        if (url && !visit) visit = scriptedBrowser(url, user);
      });
      child.on('error', reject);
      child.on('close', async (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr, visit: await visit });
      });
    },
  );
}

describe('arcgis-etl login / logout', () => {
  it('login → export with ARCGIS_CLIENT_ID only → logout revokes → export refused', async () => {
    const portal = emu.portalUrl;
    const env = { ARCGIS_ETL_CACHE_KEY: cacheKey };
    const login = await runLogin(
      ['--portal', portal, '--client-id', 'etl-cli', '--token-cache', cacheSpec],
      env,
    );
    expect(login.code, login.stderr).toBe(0);
    expect(login.visit).toMatchObject({ submit: 302, callback: 200 });
    expect(login.stdout).toMatch(/^Signed in to http:\/\/127\.0\.0\.1:\d+\/portal as ana \(client etl-cli\)/);
    expect(emu.stats().tokensIssued).toMatchObject({ oauth: 1, oauthRefresh: 1 });

    // the cache is encrypted: nothing readable in the file
    const file = await readFile(join(dir, 'tokens.json'), 'utf8');
    expect(file).not.toMatch(/refreshToken|"token"/);
    expect(file).not.toContain('ana');

    const out = join(dir, 'parcels.geojsonseq');
    const exported = await runBin(
      ['export', emu.layerUrl('Parcels', 0), '-o', out, '--portal', portal, '--token-cache', cacheSpec],
      { env: { ...env, ARCGIS_CLIENT_ID: 'etl-cli', HOME: dir } },
    );
    expect(exported.code, exported.stderr).toBe(0);
    expect((await readFile(out, 'utf8')).trim().split('\n')).toHaveLength(25);
    // the access token saved at login was used: no new token
    expect(emu.stats().tokensIssued).toMatchObject({ oauth: 1, oauthRefresh: 1 });

    const token = await runBin(['token', portal, '--portal', portal, '--token-cache', cacheSpec, '--json'], {
      env: { ...env, ARCGIS_CLIENT_ID: 'etl-cli', HOME: dir },
    });
    expect(token.code, token.stderr).toBe(0);
    expect(JSON.parse(token.stdout)).toMatchObject({ tokenUrl: `${portal}/sharing/rest/oauth2/token` });
    expect(emu.stats().tokensIssued).toMatchObject({ oauth: 1, oauthRefresh: 1 });

    const logout = await runBin(
      ['logout', '--portal', portal, '--client-id', 'etl-cli', '--token-cache', cacheSpec],
      {
        env: { ...env, HOME: dir },
      },
    );
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stdout).toMatch(/Signed out ana: the refresh token was revoked/);
    expect(emu.stats().requests.revokeToken).toBe(1);

    const refused = await runBin(
      // --overwrite: the output of the first export is there; this run is about the sign-in
      [
        'export',
        emu.layerUrl('Parcels', 0),
        '-o',
        out,
        '--overwrite',
        '--portal',
        portal,
        '--token-cache',
        cacheSpec,
      ],
      { env: { ...env, ARCGIS_CLIENT_ID: 'etl-cli', HOME: dir } },
    );
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(
      /error \[MISSING_CREDENTIALS\]: No saved sign-in for client etl-cli.*arcgis-etl login/,
    );

    for (const text of [
      login.stdout,
      login.stderr,
      exported.stderr,
      logout.stdout,
      logout.stderr,
      refused.stderr,
    ]) {
      expect(text).not.toContain(user.password);
      expect(text).not.toContain(cacheKey);
    }
  });

  it('login without a client id, or into a memory cache, is a usage error (in process)', async () => {
    const run = async (args: string[]) => {
      const stderr: string[] = [];
      const sink = (into: string[]) =>
        new Writable({
          write(chunk, _encoding, done) {
            into.push(String(chunk));
            done();
          },
        });
      const code = await runCli(args, {
        stdout: sink([]),
        stderr: sink(stderr),
        stdin: Readable.from([]),
        env: {},
        cwd: dir,
      });
      return { code, stderr: stderr.join('') };
    };
    emu.resetStats();
    const noId = await run(['login', '--portal', emu.portalUrl, '--token-cache', cacheSpec]);
    expect(noId.code).toBe(2);
    expect(noId.stderr).toMatch(/--client-id/);
    const memory = await run([
      'login',
      '--portal',
      emu.portalUrl,
      '--client-id',
      'etl-cli',
      '--token-cache',
      'memory',
    ]);
    expect(memory.code).toBe(2);
    expect(memory.stderr).toMatch(/memory/);
    expect(emu.stats().requests.oauthAuthorize ?? 0).toBe(0);
  });
});
