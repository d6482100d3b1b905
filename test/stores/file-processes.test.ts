import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStore } from '../../src/stores/file.js';
import { tempDir } from './helpers.js';
import { ON_CI } from './redis-helpers.js';

const worker = fileURLToPath(new URL('./fixtures/file-worker.mjs', import.meta.url));
const built = existsSync(fileURLToPath(new URL('../../dist/stores/file.js', import.meta.url)));

interface WorkerResult {
  name: string;
  refreshed: boolean;
  token: string;
  warnings: number;
}

function runWorker(args: string[], env: NodeJS.ProcessEnv): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out.trim()) as WorkerResult);
      else reject(new Error(`worker exited with ${code}: ${err}`));
    });
  });
}

describe.skipIf(!built && !ON_CI)('FileStore across OS processes (compiled dist/)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterEach(async () => {
    await cleanup();
  });

  for (const [label, key, count] of [
    ['plain', '', 4],
    ['encrypted', 'shared-process-key', 3],
  ] as const) {
    it(`${label}: ${count} processes on an empty cache make exactly one refresh; the final file is valid`, async () => {
      const cachePath = path.join(dir, 'nested', 'tokens.json');
      const refreshLog = path.join(dir, 'refreshes.log');
      const startAt = String(Date.now() + 400);
      const env = { ...process.env, WORKER_CACHE_KEY: key };
      const names = Array.from({ length: count }, (_, i) => `w${i}`);
      const results = await Promise.all(
        names.map((name) => runWorker([cachePath, name, refreshLog, startAt], env)),
      );

      const refreshes = (await readFile(refreshLog, 'utf8')).trim().split('\n');
      expect(refreshes).toHaveLength(1);
      expect(results.filter((r) => r.refreshed)).toHaveLength(1);
      expect(new Set(results.map((r) => r.token)).size).toBe(1);
      expect(results.every((r) => r.warnings === 0)).toBe(true);

      const text = await readFile(cachePath, 'utf8');
      const file = JSON.parse(text);
      expect(file.version).toBe(1);
      // No lost update: every process's read-modify-writes are all there.
      const expected = ['shared', ...names.flatMap((n) => [0, 1, 2, 3, 4].map((i) => `own-${n}-${i}`))];
      expect(Object.keys(file.entries).sort()).toEqual(expected.sort());
      const store = new FileStore({ path: cachePath, key: key || null });
      expect((await store.get('shared'))?.token).toBe(results[0]?.token);
      if (key) expect(text).not.toContain('TOKEN-FROM');
      // No temp or lock files left behind.
      expect(await readdir(path.dirname(cachePath))).toEqual(['tokens.json']);
    });
  }
});

if (!built && !ON_CI) {
  console.warn(
    '\n!!! SKIPPING FileStore multi-process tests: run `npm run build` first (dist/ is missing) !!!\n',
  );
}
