/**
 * A lock file is never seen without its content. Created empty and then written, a lock left by a
 * process killed in between was empty: it named no holder, so no one could tell it was dead, and an
 * export's output stayed "being written by another export" (seen in the kill -9 chaos test).
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { resolveRuntime } from '../../src/core/time.js';
import { acquireLockFile } from '../../src/stores/lock-file.js';
import { tempDir } from './helpers.js';

/** Reads the file as fast as it can in another process until SIGTERM; prints the reads and the empty ones. */
const READER = `
const fs = require('node:fs');
let empty = 0, reads = 0;
process.on('SIGTERM', () => { process.stdout.write(JSON.stringify({ empty, reads })); process.exit(0); });
(function loop() {
  for (let i = 0; i < 2000; i++) {
    try { if (fs.readFileSync(process.argv[1], 'utf8') === '') empty++; reads++; } catch {}
  }
  setImmediate(loop);
})();
process.stdout.write('ready\\n');
`;

it('a reader in another process never sees the lock file empty (400 takes and releases)', async () => {
  const { dir, cleanup } = await tempDir();
  const lockPath = path.join(dir, 'output.lock');
  const reader = spawn(process.execPath, ['-e', READER, lockPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  reader.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  await new Promise<void>((resolve) => {
    const check = () => (out.includes('ready') ? resolve() : setTimeout(check, 5));
    check();
  });
  const runtime = resolveRuntime({});
  for (let i = 0; i < 400; i++) {
    const handle = await acquireLockFile(lockPath, { runtime, staleMs: Number.POSITIVE_INFINITY, waitMs: 0 });
    expect(handle.acquired).toBe(true);
    await handle.release();
  }
  const exited = new Promise((resolve) => reader.once('exit', resolve));
  reader.kill('SIGTERM');
  await exited;
  const { empty, reads } = JSON.parse(out.slice(out.indexOf('{'))) as { empty: number; reads: number };
  expect(reads).toBeGreaterThan(0); // it did see the lock (created and written the old way: thousands empty)
  expect(empty).toBe(0);
  // nothing left beside it: the temporary file is gone with each take
  expect(await readdir(dir)).toEqual([]);
  await cleanup();
});
