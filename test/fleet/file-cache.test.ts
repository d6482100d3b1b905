/**
 * Issue 5, file cache through the real CLI (`node dist/cli/main.js export … --token-cache file:PATH`):
 * reuse across runs, mode 0600, corrupt and foreign files, two concurrent runs on an empty cache.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { FileStore } from '../../src/stores/file.js';
import { assertBuilt, type CliResult, pointLayer, runCli, startSecured, tempDir, USER } from './helpers.js';

let emu: EmulatorHandle;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let runs = 0;

beforeAll(async () => {
  assertBuilt();
  emu = await startSecured({ layers: [pointLayer('Cached', 30)] });
  tmp = await tempDir();
});
afterAll(async () => {
  await emu?.stop();
  await tmp?.remove();
});

interface RunStats {
  features: number;
  tokensGenerated: number;
}

/** One `arcgis-etl export` run with a file token cache; answers the CLI result and its --stats-json. */
async function exportWithCache(cache: string): Promise<CliResult & { stats: RunStats | undefined }> {
  const n = ++runs;
  const statsPath = path.join(tmp.dir, `stats-${n}.json`);
  const result = await runCli(
    [
      'export',
      emu.layerUrl('Cached'),
      '-o',
      path.join(tmp.dir, `out-${n}.geojson`),
      '--token-cache',
      `file:${cache}`,
      '--stats-json',
      statsPath,
    ],
    {
      HOME: tmp.dir,
      XDG_CACHE_HOME: path.join(tmp.dir, 'xdg'),
      ARCGIS_USERNAME: USER.username,
      ARCGIS_PASSWORD: USER.password,
    },
  );
  const stats = await readFile(statsPath, 'utf8').then(
    (text) => JSON.parse(text) as RunStats,
    () => undefined,
  );
  return { ...result, stats };
}

async function readCacheFile(cache: string): Promise<{ version: number; entries: Record<string, unknown> }> {
  return JSON.parse(await readFile(cache, 'utf8')) as { version: number; entries: Record<string, unknown> };
}

/** The one token in the cache file, read back through the store (proves the file is valid). */
async function cachedToken(cache: string): Promise<string | undefined> {
  const file = await readCacheFile(cache);
  const keys = Object.keys(file.entries);
  expect(keys).toHaveLength(1);
  return (await new FileStore({ path: cache, key: null }).get(keys[0] ?? ''))?.token;
}

describe('file token cache through the CLI', () => {
  it('a second run within the token life makes 0 token requests; the file is 0600 in a 0700 directory', async () => {
    const cache = path.join(tmp.dir, 'reuse', 'tokens.json');
    const before = emu.stats().tokens;

    const first = await exportWithCache(cache);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stats).toMatchObject({ features: 30, tokensGenerated: 1 });
    expect(emu.stats().tokens).toBe(before + 1);
    const token = await cachedToken(cache);
    expect(token).toBeTruthy();

    const second = await exportWithCache(cache);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stats).toMatchObject({ features: 30, tokensGenerated: 0 });
    expect(emu.stats().tokens).toBe(before + 1); // unchanged: the cached token was used
    expect(await cachedToken(cache)).toBe(token);

    expect((await stat(cache)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(cache))).mode & 0o777).toBe(0o700);
    // The password never reaches the cache or the output.
    expect(await readFile(cache, 'utf8')).not.toContain(USER.password);
    expect(first.stderr + second.stderr).not.toContain(USER.password);
  }, 30_000);

  for (const [label, content] of [
    ['corrupt (not JSON)', '{"version": 1, "entries": {"trunc'],
    ['foreign (another format)', JSON.stringify({ version: 99, tokens: ['x'] })],
  ] as const) {
    it(`a ${label} cache file is survived: warning, exit 0, replaced by a valid file`, async () => {
      const cache = path.join(tmp.dir, `bad-${label.split(' ')[0]}.json`);
      await writeFile(cache, content, { mode: 0o644 }); // the replacement must come back 0600
      const before = emu.stats().tokens;

      const result = await exportWithCache(cache);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/warning: token cache file .*(treated as empty|replaced)/);
      expect(result.stats?.features).toBe(30);
      expect(emu.stats().tokens).toBe(before + 1);
      const file = await readCacheFile(cache);
      expect(file.version).toBe(1);
      expect(await cachedToken(cache)).toBeTruthy();
      expect((await stat(cache)).mode & 0o777).toBe(0o600);
    }, 30_000);
  }

  it('two concurrent runs on an empty cache make at most one token request each (one in total) and leave a valid file', async () => {
    const dir = path.join(tmp.dir, 'concurrent');
    const cache = path.join(dir, 'tokens.json');
    const before = emu.stats().tokens;

    const results = await Promise.all([exportWithCache(cache), exportWithCache(cache)]);
    for (const r of results) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stats?.features).toBe(30);
      expect(r.stats?.tokensGenerated).toBeLessThanOrEqual(1);
    }
    const made = emu.stats().tokens - before;
    expect(made).toBe(results.reduce((n, r) => n + (r.stats?.tokensGenerated ?? 0), 0));
    expect(made).toBe(1); // the per-key lock file let one run log in and the other read its token

    expect(await cachedToken(cache)).toBeTruthy();
    expect((await stat(cache)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['tokens.json']); // no temp or lock files left behind
  }, 30_000);
});
