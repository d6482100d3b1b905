/**
 * The secret-leak suite for the library: connect() + exportLayer() on every failure path, with a
 * pino logger writing a real log file and every event captured. Thrown errors are inspected the way
 * a user would see them (message, stack, toJSON, util.inspect with causes): none of it, nor the log
 * file, the events or the token cache files, holds a secret in any form.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConnectOptions, connect } from '../../src/client/connect.js';
import { EtlError } from '../../src/core/errors.js';
import { createEmitter, type EtlEvent } from '../../src/core/events.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { exportLayer } from '../../src/features/export.js';
import { leaksIn } from '../fuzz/leak.js';
import { startTokenProxy, type TokenProxy } from './token-proxy.js';

const unique = (prefix: string) => `${prefix}${randomBytes(12).toString('base64url')}`;
const SECRETS = {
  password: unique('Lib+/=&ü '),
  wrongPassword: unique('Wrong+/=&ü '),
  staticToken: unique('lst-'),
  cacheKey: unique('lck-'),
  redisPassword: unique('lrp-'),
};
const USER = 'lib-user';
const LOCKED = 'lib-locked';

let emu: EmulatorHandle;
let proxy: TokenProxy;
let work: string;
let layerUrl: string;
const texts: { name: string; text: string; tokensAllowed?: boolean }[] = [];
const events: EtlEvent[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'arcgis-etl-libsecrets-'));
  emu = await startEmulator({
    users: [
      { username: USER, password: SECRETS.password },
      { username: LOCKED, password: SECRETS.password },
    ],
    lockoutAttempts: 2,
    tokenLifetimeSeconds: 600,
    layers: [
      { service: 'Parcels', generate: { count: 60, geometry: 'polygon', seed: 2 }, maxRecordCount: 25 },
    ],
  });
  proxy = await startTokenProxy(emu.url);
  layerUrl = `${proxy.origin}${new URL(emu.layerUrl('Parcels', 0)).pathname}`;
});

afterAll(async () => {
  await proxy?.close();
  await emu?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Everything a thrown error shows: message, stack, JSON view, and util.inspect with its causes. */
function errorTexts(error: unknown): string {
  const parts = [inspect(error, { depth: 8 }), String(error)];
  for (let e = error, d = 0; e && d < 8; e = (e as { cause?: unknown }).cause, d++) {
    if (e instanceof Error) parts.push(e.message, e.stack ?? '');
    if (e instanceof EtlError) parts.push(JSON.stringify(e.toJSON()), ...e.details);
  }
  return parts.join('\n');
}

async function run(
  name: string,
  options: Partial<ConnectOptions> & { layer?: string },
  logPath: string,
): Promise<unknown> {
  const logger = pino({ level: 'debug' }, pino.destination({ dest: logPath, sync: true, append: true }));
  const emit = createEmitter({ logger, onEvent: (e) => events.push(e) });
  const url = options.layer ?? layerUrl;
  try {
    const connection = await connect({ url, emit, logger, runtime: { sleep: async () => {} }, ...options });
    try {
      await exportLayer({
        client: connection.client,
        layerUrl: url,
        output: join(work, `${name}.geojsonseq`),
        format: 'geojsonseq',
      });
      return undefined;
    } finally {
      await connection.close();
    }
  } catch (error) {
    texts.push({ name: `${name}: thrown error`, text: errorTexts(error) });
    return error;
  }
}

const codeOf = (error: unknown) => (error instanceof EtlError ? error.code : String(error));

describe('no secret leaves the library', () => {
  it('errors, events, a pino log file and the cache files, on every path', { timeout: 60_000 }, async () => {
    const log = join(work, 'etl.log');
    const password = { username: USER, password: SECRETS.password };
    const encrypted = new (await import('../../src/stores/file.js')).FileStore({
      path: join(work, 'cache-encrypted.json'),
      key: SECRETS.cacheKey,
    });

    expect(
      await run('ok-encrypted-cache', { credentials: password, tokenCache: encrypted }, log),
    ).toBeUndefined();
    expect(
      await run(
        'ok-from-cache',
        { credentials: password, tokenCache: encrypted, tokenPlacement: 'query' },
        log,
      ),
    ).toBeUndefined();
    expect(
      await run(
        'ok-header',
        { credentials: { username: USER, password: async () => SECRETS.password }, tokenPlacement: 'header' },
        log,
      ),
    ).toBeUndefined();

    expect(
      codeOf(
        await run(
          'wrong-password',
          { credentials: { username: USER, password: SECRETS.wrongPassword } },
          log,
        ),
      ),
    ).toBe('BAD_CREDENTIALS');
    for (const attempt of [1, 2]) {
      const error = await run(
        `locking-${attempt}`,
        { credentials: { username: LOCKED, password: SECRETS.wrongPassword } },
        log,
      );
      expect(codeOf(error)).toMatch(/BAD_CREDENTIALS|ACCOUNT_LOCKED/);
    }
    expect(
      codeOf(await run('locked', { credentials: { username: LOCKED, password: SECRETS.password } }, log)),
    ).toBe('ACCOUNT_LOCKED');
    expect(codeOf(await run('static-498', { credentials: { token: SECRETS.staticToken } }, log))).toBe(
      'STATIC_TOKEN_INVALID',
    );
    expect(
      codeOf(
        await run(
          'static-498-query',
          { credentials: { token: SECRETS.staticToken }, tokenPlacement: 'query' },
          log,
        ),
      ),
    ).toBe('STATIC_TOKEN_INVALID');
    expect(
      codeOf(
        await run(
          'missing-layer',
          { credentials: password, layer: layerUrl.replace('/Parcels/', '/Nope/') },
          log,
        ),
      ),
    ).toBe('LAYER_NOT_FOUND');
    expect(
      codeOf(
        await run(
          'insecure',
          {
            credentials: password,
            layer: 'http://gis.example.invalid/arcgis/rest/services/P/FeatureServer/0',
            tokenUrl: 'http://gis.example.invalid/arcgis/tokens/generateToken',
          },
          log,
        ),
      ),
    ).toBe('INSECURE_URL');
    expect(
      await run(
        'redis-unreachable',
        { credentials: password, tokenCache: `redis://default:${SECRETS.redisPassword}@127.0.0.1:1/0` },
        log,
      ),
    ).toBeUndefined();
    await writeFile(join(work, 'cache-corrupt.json'), '{"version":1,"entries":[}');
    expect(
      await run(
        'corrupt-cache',
        { credentials: password, tokenCache: `file:${join(work, 'cache-corrupt.json')}` },
        log,
      ),
    ).toBeUndefined();
    await encrypted.close();

    texts.push({ name: 'events', text: JSON.stringify(events) });
    for (const file of await readdir(work)) {
      const text = await readFile(join(work, file), 'utf8');
      texts.push({ name: file, text, tokensAllowed: file === 'cache-corrupt.json' });
    }

    const logText = await readFile(log, 'utf8');
    expect(logText).toMatch(/token\.generated/); // the log file is real and has the token activity
    expect(events.some((e) => e.type === 'warning')).toBe(true);
    expect(proxy.tokens.length).toBeGreaterThanOrEqual(3);

    const leaks: string[] = [];
    for (const { name, text, tokensAllowed } of texts) {
      for (const [label, secret] of Object.entries(SECRETS)) {
        for (const probe of leaksIn(text, secret)) leaks.push(`${label} in ${name}: ${probe}`);
      }
      if (tokensAllowed) continue;
      proxy.tokens.forEach((token, i) => {
        for (const probe of leaksIn(text, token)) leaks.push(`issued token #${i} in ${name}: ${probe}`);
      });
    }
    expect(leaks).toEqual([]);
    // positive control: the unencrypted cache does hold an issued token (so the search can find one)
    const plain = texts.find((t) => t.name === 'cache-corrupt.json')!;
    expect(proxy.tokens.some((token) => leaksIn(plain.text, token).length > 0)).toBe(true);
  });
});
