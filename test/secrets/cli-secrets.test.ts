/**
 * The secret-leak suite for the CLI: every command and every failure path, run as real processes
 * with a unique password, client secret, static token, cache key and Redis password. Everything
 * they leave behind — stdout, stderr, output files, stats files, token cache files — is searched for
 * each secret in clear, URL-encoded and base64 form (and for 16-character pieces of each form), and
 * so is every token the emulator issued (recorded by a proxy in front of it). Refusals that happen
 * before any I/O (secret flags, help) run in-process through the same `runCli`, to keep it fast.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { BIN, type BinResult, runBin } from '../cli/run-bin.js';
import { leaksIn } from '../fuzz/leak.js';
import { startTokenProxy, type TokenProxy } from './token-proxy.js';

const unique = (prefix: string) => `${prefix}${randomBytes(12).toString('base64url')}`;

/** Characters that URL-encoding and form-encoding change, so every form differs from the clear one. */
const SECRETS = {
  password: unique('Pw+/=&é '),
  clientSecret: unique('cs-'),
  staticToken: unique('st-'),
  cacheKey: unique('ck-'),
  redisPassword: unique('rp-'),
};
const WRONG_PASSWORD = `${SECRETS.password}-wrong`;
const USER = 'leak-user';
const LOCKED_USER = 'leak-locked';
const APP = 'leak-app';
const PUBLIC_APP = 'leak-public-app';

interface Artifact {
  name: string;
  text: string;
  /** Issued tokens are allowed here (--print-token output, an unencrypted cache by design). */
  tokensAllowed?: boolean;
}

const artifacts: Artifact[] = [];
let emu: EmulatorHandle;
let proxy: TokenProxy;
let work: string;
let layerUrl: string;
let serverUrl: string;
let portalUrl: string;
let closedPort: number;

function baseEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    HOME: join(work, 'home'),
    XDG_CACHE_HOME: join(work, 'xdg-cache'),
    ...extra,
  };
}

const passwordEnv = (extra: Record<string, string | undefined> = {}) =>
  baseEnv({ ARCGIS_USERNAME: USER, ARCGIS_PASSWORD: SECRETS.password, ...extra });

async function cli(
  name: string,
  args: string[],
  env: Record<string, string | undefined>,
  options: { stdin?: string; expect?: number; stdoutHasToken?: boolean } = {},
): Promise<BinResult> {
  const t0 = Date.now();
  const r = await runBin(args, {
    env,
    cwd: work,
    timeoutMs: 30_000,
    ...(options.stdin ? { stdin: options.stdin } : {}),
  });
  // SECRETS_DEBUG=1 prints how long each process took (the suite's time is mostly process start-up)
  if (process.env.SECRETS_DEBUG) console.error(`${name}: ${Date.now() - t0} ms, exit ${r.code}`);
  artifacts.push({ name: `${name} stderr`, text: r.stderr });
  artifacts.push({ name: `${name} stdout`, text: r.stdout, tokensAllowed: options.stdoutHasToken === true });
  if (options.expect !== undefined) expect(r.code, `${name}: ${r.stderr}`).toBe(options.expect);
  return r;
}

/** The CLI's runCli in this process, with its own streams and environment. */
async function cliInProcess(
  name: string,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<BinResult> {
  const capture = () => {
    const stream = new PassThrough();
    let text = '';
    stream.setEncoding('utf8').on('data', (d: string) => {
      text += d;
    });
    return { stream, text: () => text };
  };
  const out = capture();
  const err = capture();
  const code = await runCli(args, {
    stdout: out.stream,
    stderr: err.stream,
    stdin: Readable.from([]),
    env,
    cwd: work,
  });
  await new Promise((resolve) => setImmediate(resolve));
  artifacts.push({ name: `${name} stderr (in-process)`, text: err.text() });
  artifacts.push({ name: `${name} stdout (in-process)`, text: out.text() });
  return { code, stdout: out.text(), stderr: err.text() };
}

/** Every secret (and, outside `tokensAllowed` artifacts, every issued token) found in `list`. */
function leaksOf(list: readonly Artifact[]): string[] {
  const secrets = { ...SECRETS, wrongPassword: WRONG_PASSWORD };
  const leaks: string[] = [];
  for (const artifact of list) {
    for (const [label, secret] of Object.entries(secrets)) {
      for (const probe of leaksIn(artifact.text, secret))
        leaks.push(`${label} in ${artifact.name}: ${probe}`);
    }
    if (artifact.tokensAllowed) continue;
    proxy.tokens.forEach((token, i) => {
      for (const probe of leaksIn(artifact.text, token))
        leaks.push(`issued token #${i} in ${artifact.name}: ${probe}`);
    });
  }
  return leaks;
}

/** The files under the work folder as artifacts (token caches without a key may hold tokens, by design). */
async function fileArtifacts(): Promise<Artifact[]> {
  const out: Artifact[] = [];
  for (const file of await filesUnder(work)) {
    const text = await readFile(file, 'utf8');
    const isCache = /cache|tokens\.json/.test(file) && !file.endsWith('.partial');
    const encrypted = /encrypted/.test(file);
    out.push({ name: file.slice(work.length), text, tokensAllowed: isCache && !encrypted });
    if (isCache && !file.endsWith('.lock'))
      expect((await stat(file)).mode & 0o077, `${file} is private`).toBe(0);
  }
  return out;
}

/** Runs tasks a few at a time (each spawns a node process). */
async function pool(tasks: (() => Promise<unknown>)[], size = 4): Promise<void> {
  const queue = [...tasks];
  await Promise.all(
    Array.from({ length: size }, async () => {
      for (let task = queue.shift(); task; task = queue.shift()) await task();
    }),
  );
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` (npm test does)');
  work = await mkdtemp(join(tmpdir(), 'arcgis-etl-secrets-'));
  await mkdir(join(work, 'home'), { recursive: true });
  emu = await startEmulator({
    users: [
      { username: USER, password: SECRETS.password },
      { username: LOCKED_USER, password: SECRETS.password },
    ],
    lockoutAttempts: 2,
    apps: [
      { clientId: APP, clientSecret: SECRETS.clientSecret, redirectUris: ['http://127.0.0.1/callback'] },
      { clientId: PUBLIC_APP, redirectUris: ['http://127.0.0.1/callback'] },
    ],
    layers: [
      {
        service: 'Parcels',
        generate: { count: 120, geometry: 'mixed-polygon', seed: 5 },
        maxRecordCount: 50,
      },
    ],
  });
  proxy = await startTokenProxy(emu.url);
  const path = new URL(emu.layerUrl('Parcels', 0)).pathname;
  layerUrl = `${proxy.origin}${path}`;
  serverUrl = `${proxy.origin}${new URL(emu.restUrl).pathname}/services`;
  portalUrl = `${proxy.origin}${new URL(emu.portalUrl).pathname}`;
  closedPort = await freePort();
});

afterAll(async () => {
  await proxy?.close();
  await emu?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('no secret leaves the CLI', () => {
  it('every command and every failure path, with unique secrets', { timeout: 120_000 }, async () => {
    const out = (name: string) => join(work, name);
    const encCache = `file:${out('cache-encrypted.json')}`;
    const withKey = { ARCGIS_ETL_CACHE_KEY: SECRETS.cacheKey };

    // ---- commands that succeed (several at once) ----
    await pool([
      () =>
        cli(
          'export verbose, encrypted file cache, stats',
          [
            'export',
            layerUrl,
            '-o',
            out('a.geojsonseq'),
            '-v',
            '--stats-json',
            out('stats.json'),
            '--token-cache',
            encCache,
          ],
          passwordEnv(withKey),
          { expect: 0 },
        ),
      () =>
        cli(
          'export csv, default file cache',
          ['export', layerUrl, '-o', out('b.csv'), '--token-cache', 'file'],
          passwordEnv(),
          {
            expect: 0,
          },
        ),
      () =>
        cli(
          'export to stdout, password on stdin',
          ['export', layerUrl, '-o', '-', '--password-stdin', '-q'],
          baseEnv({ ARCGIS_USERNAME: USER }),
          {
            stdin: `${SECRETS.password}\n`,
            expect: 0,
          },
        ),
      () =>
        cli(
          'export, password command, token in a header',
          ['export', layerUrl, '-o', out('c.geojson'), '--token-in', 'header', '-v'],
          baseEnv({
            ARCGIS_USERNAME: USER,
            XPW: SECRETS.password,
            ARCGIS_PASSWORD_COMMAND: `printf '%s' "$XPW"`,
          }),
          { expect: 0 },
        ),
      () =>
        cli(
          'export, token in the query string, resume',
          ['export', layerUrl, '-o', out('d.geojsonseq'), '--token-in', 'query', '--resume', '-v'],
          passwordEnv(),
          {
            expect: 0,
          },
        ),
      () => cli('info layer', ['info', layerUrl, '-v'], passwordEnv(), { expect: 0 }),
      () => cli('info layer json', ['info', layerUrl, '--json'], passwordEnv(), { expect: 0 }),
      () => cli('info service', ['info', layerUrl.replace(/\/0$/, '')], passwordEnv(), { expect: 0 }),
      () => cli('token', ['token', serverUrl, '-v'], passwordEnv(), { expect: 0 }),
      () => cli('token json', ['token', serverUrl, '--json'], passwordEnv(), { expect: 0 }),
      () =>
        cli(
          'export with OAuth app credentials',
          ['export', layerUrl, '--portal', portalUrl, '-o', out('oauth.geojsonseq'), '-v'],
          baseEnv({ ARCGIS_CLIENT_ID: APP, ARCGIS_CLIENT_SECRET: SECRETS.clientSecret }),
          { expect: 0 },
        ),
      () =>
        cli(
          'token with OAuth app credentials',
          ['token', portalUrl, '--portal', portalUrl, '--json'],
          baseEnv({ ARCGIS_CLIENT_ID: APP, ARCGIS_CLIENT_SECRET: SECRETS.clientSecret }),
          { expect: 0 },
        ),
      () =>
        cli(
          'demo',
          ['demo', '--count', '40', '--dir', out('demo'), '--token-seconds', '2', '-v'],
          baseEnv(),
          { expect: 0 },
        ),
    ]);

    // ---- failure paths (several at once) ----
    await pool([
      () =>
        cli(
          'static token rejected (498)',
          ['export', layerUrl, '-o', out('f.geojsonseq')],
          baseEnv({ ARCGIS_TOKEN: SECRETS.staticToken }),
          {
            expect: 3,
          },
        ),
      () =>
        cli(
          'api key rejected, query',
          ['export', layerUrl, '-o', out('g.geojsonseq'), '--token-in', 'query', '-v'],
          baseEnv({ ARCGIS_API_KEY: SECRETS.staticToken }),
          {
            expect: 3,
          },
        ),
      () =>
        cli(
          'missing layer',
          ['export', layerUrl.replace('/Parcels/', '/Nope/'), '-o', out('h.geojsonseq'), '-v'],
          passwordEnv(),
          {
            expect: 4,
          },
        ),
      () =>
        cli(
          'OAuth app with a wrong secret',
          ['export', layerUrl, '--portal', portalUrl, '-o', out('oauth-bad.geojsonseq'), '-v'],
          baseEnv({ ARCGIS_CLIENT_ID: APP, ARCGIS_CLIENT_SECRET: WRONG_PASSWORD }),
          { expect: 3 },
        ),
      () =>
        cli(
          'insecure URL',
          [
            'export',
            'http://gis.example.invalid/arcgis/rest/services/P/FeatureServer/0',
            '-o',
            out('i.geojsonseq'),
          ],
          passwordEnv(),
          { expect: 2 },
        ),
      () =>
        cli(
          'redis unreachable (password in REDIS_URL)',
          ['export', layerUrl, '-o', out('j.geojsonseq'), '--token-cache', 'redis', '-v'],
          passwordEnv({
            ...withKey,
            REDIS_URL: `redis://default:${SECRETS.redisPassword}@127.0.0.1:${closedPort}/0`,
          }),
        ),
      () =>
        cli(
          'password command fails',
          ['token', serverUrl],
          baseEnv({
            ARCGIS_USERNAME: USER,
            XPW: SECRETS.password,
            ARCGIS_PASSWORD_COMMAND: 'echo "$XPW"; exit 3',
          }),
          {
            expect: 3,
          },
        ),
    ]);

    // ---- refusals before any I/O: in-process (the same runCli the binary runs), to keep the suite fast ----
    for (const [i, args] of [
      ['export', layerUrl, '-o', out('k.geojson'), '--password', SECRETS.password],
      ['export', layerUrl, '-o', out('k.geojson'), `--password=${SECRETS.password}`],
      ['token', serverUrl, '-password', SECRETS.password],
      ['token', serverUrl, `--client-secret=${SECRETS.clientSecret}`],
      ['token', serverUrl, '--client-secret', SECRETS.clientSecret],
      ['info', layerUrl, `--token=${SECRETS.staticToken}`],
      ['info', layerUrl, '--api-key', SECRETS.staticToken],
      ['info', layerUrl, `--passwd=${SECRETS.password}`],
      ['token', serverUrl, `--secret=${SECRETS.clientSecret}`],
      ['export', layerUrl, '-o', SECRETS.password, '--passwd', SECRETS.password],
    ].entries()) {
      const r = await cliInProcess(`secret flag refused #${i}`, args, passwordEnv());
      expect(r.code, r.stderr).toBe(2);
    }
    const noUser = await cliInProcess(
      'password but no username',
      ['token', serverUrl],
      baseEnv({ ARCGIS_PASSWORD: SECRETS.password }),
    );
    expect(noUser.code).toBe(3);
    const secretNoId = await cliInProcess(
      'client secret without id',
      ['token', serverUrl],
      baseEnv({ ARCGIS_CLIENT_SECRET: SECRETS.clientSecret }),
    );
    expect(secretNoId.code).toBe(3);
    expect((await cliInProcess('help', ['--help'], passwordEnv())).code).toBe(0);
    expect((await cliInProcess('export help', ['export', '--help'], passwordEnv())).code).toBe(0);

    // ---- failure paths that depend on state (one at a time) ----
    await cli(
      'wrong password',
      ['export', layerUrl, '-o', out('l.geojsonseq')],
      passwordEnv({ ARCGIS_PASSWORD: WRONG_PASSWORD }),
      {
        expect: 3,
      },
    );
    for (let i = 0; i < 2; i++) {
      await cli(
        `locking the account #${i}`,
        ['token', serverUrl],
        baseEnv({ ARCGIS_USERNAME: LOCKED_USER, ARCGIS_PASSWORD: WRONG_PASSWORD }),
        {
          expect: 3,
        },
      );
    }
    const locked = await cli(
      'locked account',
      ['token', serverUrl, '-v'],
      baseEnv({ ARCGIS_USERNAME: LOCKED_USER, ARCGIS_PASSWORD: SECRETS.password }),
      {
        expect: 3,
      },
    );
    expect(locked.stderr).toMatch(/ACCOUNT_LOCKED/);
    await cli(
      'token from the encrypted cache',
      ['token', serverUrl, '--token-cache', encCache, '-v'],
      passwordEnv(withKey),
      { expect: 0 },
    );
    await cli(
      'token printed on purpose',
      ['token', serverUrl, '--print-token', '--token-cache', encCache],
      passwordEnv(withKey),
      {
        expect: 0,
        stdoutHasToken: true,
      },
    );
    await writeFile(
      out('cache-corrupt.json'),
      '{"version":1,"entries":{"x":{"expiresAt":"soon","record":[1,2]}}} garbage',
    );
    await cli(
      'corrupt file cache',
      [
        'export',
        layerUrl,
        '-o',
        out('m.geojsonseq'),
        '--token-cache',
        `file:${out('cache-corrupt.json')}`,
        '-v',
      ],
      passwordEnv(),
      {
        expect: 0,
      },
    );
    await runEmulatorCommand();

    // ---- the checks ----
    artifacts.push(...(await fileArtifacts()));
    expect(proxy.tokens.length).toBeGreaterThanOrEqual(5); // the proxy saw real tokens being issued
    expect(leaksOf(artifacts)).toEqual([]);

    // positive controls: the search does find what is there on purpose
    const printed = artifacts.find((a) => a.name === 'token printed on purpose stdout')!;
    expect(proxy.tokens.some((t) => leaksIn(printed.text, t).length > 0)).toBe(true);
    const plainCache = artifacts.find((a) => a.name.endsWith('tokens.json'));
    expect(plainCache, 'the default file cache was written').toBeDefined();
    expect(proxy.tokens.some((t) => plainCache!.text.includes(t))).toBe(true);
    const encryptedCache = artifacts.find((a) => a.name.endsWith('cache-encrypted.json'));
    expect(encryptedCache?.text).toMatch(/"sealed":\s*"v1:/);
  });

  it('login (the test plays the browser), a run on the saved sign-in, logout', {
    timeout: 60_000,
  }, async () => {
    const before = artifacts.length;
    const cache = `file:${join(work, 'login-encrypted.json')}`;
    const env = baseEnv({ ARCGIS_CLIENT_ID: PUBLIC_APP, ARCGIS_ETL_CACHE_KEY: SECRETS.cacheKey });
    const tokensBefore = proxy.tokens.length;
    await runLoginCommand(['login', '--portal', portalUrl, '--token-cache', cache], env);
    expect(proxy.tokens.length).toBeGreaterThan(tokensBefore); // access and refresh tokens were issued
    const exportArgs = ['export', layerUrl, '--portal', portalUrl, '--token-cache', cache, '-v'];
    await cli('export on the saved sign-in', [...exportArgs, '-o', join(work, 'login.geojsonseq')], env, {
      expect: 0,
    });
    await cli('logout', ['logout', '--portal', portalUrl, '--token-cache', cache], env, { expect: 0 });
    const after = await cli(
      'export after logout',
      [...exportArgs, '-o', join(work, 'logout.geojsonseq')],
      env,
    );
    expect(after.code).not.toBe(0);
    const files = (await fileArtifacts()).filter((a) => /login|logout/.test(a.name));
    expect(files.length).toBeGreaterThan(0);
    expect(leaksOf([...artifacts.slice(before), ...files])).toEqual([]);
  });
});

/**
 * `arcgis-etl login` as a real process; the test plays the browser: it opens the printed
 * authorization URL, signs in with the unique password, and follows the redirect to the CLI's
 * loopback receiver.
 */
async function runLoginCommand(args: string[], env: Record<string, string | undefined>): Promise<void> {
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], {
    cwd: work,
    env: { PATH: process.env.PATH, ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    const authorize = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`login printed no URL: ${stderr}`)), 15_000);
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        const url = /(http\S+\/oauth2\/authorize\S+)/.exec(stderr)?.[1];
        if (url) {
          clearTimeout(timer);
          resolve(url);
        }
      });
    });
    const signIn = await request(authorize, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: USER, password: SECRETS.password, signin: 'Sign In' }).toString(),
    });
    await signIn.body.text();
    expect(signIn.statusCode).toBe(302);
    const location = String(signIn.headers.location);
    expect(location).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\?/);
    const callback = await request(location);
    await callback.body.text();
    expect(await closed, stderr).toBe(0);
  } finally {
    child.kill('SIGINT');
    await closed;
    artifacts.push({ name: 'login stdout', text: stdout }, { name: 'login stderr', text: stderr });
  }
}

/** `arcgis-etl emulator` with a --user account, a token taken from it, then Ctrl+C. */
async function runEmulatorCommand(): Promise<void> {
  const child: ChildProcess = spawn(
    process.execPath,
    [BIN, 'emulator', '--port', '0', '--user', `emu-user:${SECRETS.password}`, '--generate', 'pts:point:10'],
    {
      cwd: work,
      env: { PATH: process.env.PATH, ...baseEnv() } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`emulator did not start: ${stderr}`)), 15_000);
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        if (stdout.includes('Press Ctrl+C')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const tokenUrl = /Token URL\s+(\S+)/.exec(stdout)?.[1];
    expect(tokenUrl).toBeDefined();
    const services = tokenUrl!.replace(/\/tokens\/generateToken$/, '/rest/services');
    await cli(
      'token from the emulator command',
      ['token', services, '--json'],
      baseEnv({ ARCGIS_USERNAME: 'emu-user', ARCGIS_PASSWORD: SECRETS.password }),
      {
        expect: 0,
      },
    );
  } finally {
    child.kill('SIGINT');
    await closed;
    artifacts.push({ name: 'emulator stdout', text: stdout }, { name: 'emulator stderr', text: stderr });
  }
}
