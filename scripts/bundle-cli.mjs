// Bundles the CLI (dist/cli/main.js, as tsc wrote it): a command then loads one file and the chunks
// it needs (dist/cli/chunks/: the emulator, the fleet, the writers… each loaded when a command
// uses it), not some 300 modules, and starts in about half the time (start-up is a visible share
// of a short export). The library (`import 'arcgis-etl'`) stays tsc's modules.
// Not bundled, resolved from node_modules when a command needs them: packages that read files of
// their own or load native code (zstd's WebAssembly, the fleet's BullMQ and Redis client,
// PostgreSQL's driver, better-sqlite3), and those loaded through src/core/lazy-require.ts.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const cli = fileURLToPath(new URL('../dist/cli/', import.meta.url));
const staged = await mkdtemp(join(tmpdir(), 'arcgis-etl-bundle-'));
try {
  await build({
    entryPoints: [join(cli, 'main.js')],
    outdir: staged,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    external: ['@hpcc-js/wasm-zstd', 'bullmq', '@redis/client', 'pg', 'better-sqlite3'],
    // CommonJS dependencies inlined in ES modules still call require() for Node's built-ins
    banner: {
      js: "import { createRequire as __bundleRequire } from 'node:module';\nconst require = __bundleRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  await rm(join(cli, 'chunks'), { recursive: true, force: true });
  await cp(staged, cli, { recursive: true });
} finally {
  await rm(staged, { recursive: true, force: true });
}
