// Token requests made by a fleet of N OS processes (N = 1, 4, 16; each with 20 concurrent requests)
// sharing the Redis store, the file store, or nothing (memory), against one emulator; plus the
// latency of a cached token read through Redis (RedisStore.get) vs the TokenManager's in-process
// cache (getToken on a warm manager). Run `npm run build` first. Prints tables and exits.
//
// The same file is the worker: `node bench/fleet.mjs --worker` (forked by the parent, IPC barrier).
// --json: also one JSON object with every figure on the last stdout line. --quick (or BENCH_QUICK=1):
// fleets of 1 and 4 and fewer latency samples (BENCH_FLEETS / BENCH_ITERATIONS still win).
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const USER = { username: 'bench-user', password: 'Bench-Passw0rd!' };
const JSON_MODE = process.argv.includes('--json');
const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const FLEETS = (process.env.BENCH_FLEETS || (QUICK ? '1,4' : '1,4,16')).split(',').map(Number);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY || 20);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS || (QUICK ? 500 : 5_000));
const WARMUP = QUICK ? 50 : 500;

const { connect, RedisStore } = await import('../dist/index.js');

if (process.argv.includes('--worker')) {
  await worker();
} else {
  await main();
}

// ---- worker --------------------------------------------------------------------------------------

async function worker() {
  const config = JSON.parse(process.env.FLEET_BENCH ?? '{}');
  const tokenCache =
    config.store === 'redis'
      ? new RedisStore({ url: REDIS_URL, prefix: config.prefix, key: null })
      : config.store === 'file'
        ? `file:${config.path}`
        : 'memory';
  const connection = await connect({
    url: config.layerUrl,
    credentials: USER,
    tokenCache,
    emit: () => {},
  });
  if (config.store === 'redis') await connection.store.get('warm-up');
  process.on('message', async (message) => {
    if (message?.type !== 'go') return;
    const settled = await Promise.allSettled(
      Array.from({ length: config.concurrency }, () =>
        connection.client.request(`${config.layerUrl}/query`, { where: '1=1', returnCountOnly: true }),
      ),
    );
    const failed = settled.filter((s) => s.status === 'rejected').length;
    process.send({ type: 'done', failed, generated: connection.auth.stats.generated });
    await connection.close();
    process.exit(0);
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready' });
}

// ---- parent --------------------------------------------------------------------------------------

function once(child, type) {
  return new Promise((resolve, reject) => {
    const onMessage = (message) => {
      if (message?.type === type) {
        child.off('message', onMessage);
        resolve(message);
      }
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before "${type}"`)));
  });
}

async function fleetRun(emu, store, n, extra) {
  emu.resetStats();
  const self = fileURLToPath(import.meta.url);
  const config = { layerUrl: emu.layerUrl('Bench'), store, concurrency: CONCURRENCY, ...extra };
  const children = Array.from({ length: n }, () =>
    fork(self, ['--worker'], {
      env: { ...process.env, FLEET_BENCH: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  try {
    await Promise.all(children.map((c) => once(c, 'ready')));
    const started = performance.now();
    const done = children.map((c) => once(c, 'done'));
    for (const c of children) c.send({ type: 'go' });
    const results = await Promise.all(done);
    return {
      tokens: emu.stats().tokens,
      failed: results.reduce((s, r) => s + r.failed, 0),
      ms: performance.now() - started,
    };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  }
}

async function measure(fn) {
  for (let i = 0; i < WARMUP; i++) await fn();
  const samples = new Float64Array(ITERATIONS);
  for (let i = 0; i < ITERATIONS; i++) {
    const t = process.hrtime.bigint();
    await fn();
    samples[i] = Number(process.hrtime.bigint() - t) / 1e6;
  }
  samples.sort();
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  return { p50: at(0.5), p99: at(0.99) };
}

async function deletePrefix(prefix) {
  const { createClient } = await import('@redis/client');
  const client = createClient({
    url: REDIS_URL,
    socket: { connectTimeout: 1_000, reconnectStrategy: false },
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const keys = [];
    for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) keys.push(...batch);
    if (keys.length > 0) await client.del(keys);
    await client.close();
  } catch {
    client.destroy();
  }
}

function pad(value, width) {
  return String(value).padStart(width);
}

async function main() {
  const { startEmulator } = await import('../dist/emulator/index.js');
  const emu = await startEmulator({
    users: [USER],
    layers: [{ service: 'Bench', generate: { count: 100, geometry: 'point', seed: 3 } }],
  });
  const dir = await mkdtemp(path.join(tmpdir(), 'arcgis-etl-fleet-bench-'));
  const runId = `${process.pid}-${Date.now().toString(36)}`;
  const prefixes = [];
  try {
    const table = [];
    let cell = 0;
    for (const n of FLEETS) {
      const row = { n };
      for (const store of ['redis', 'file', 'memory']) {
        cell++;
        const prefix = `arcgis-etl-bench:fleet:${runId}:${cell}:`;
        if (store === 'redis') prefixes.push(prefix);
        row[store] = await fleetRun(emu, store, n, {
          prefix,
          path: path.join(dir, `tokens-${cell}.json`),
        });
      }
      table.push(row);
    }

    console.log(
      `\nToken requests by a fleet of N processes × ${CONCURRENCY} concurrent requests (one emulator)`,
    );
    console.log(
      '   N │ redis (shared) │ file (shared) │ memory (none) │ redis ms │ file ms │ memory ms │ failed',
    );
    console.log(
      '─────┼────────────────┼───────────────┼───────────────┼──────────┼─────────┼───────────┼───────',
    );
    for (const { n, redis, file, memory } of table) {
      console.log(
        `${pad(n, 4)} │ ${pad(redis.tokens, 14)} │ ${pad(file.tokens, 13)} │ ${pad(memory.tokens, 13)} │ ` +
          `${pad(redis.ms.toFixed(0), 8)} │ ${pad(file.ms.toFixed(0), 7)} │ ${pad(memory.ms.toFixed(0), 9)} │ ` +
          `${pad(redis.failed + file.failed + memory.failed, 6)}`,
      );
    }
    console.log(
      '(ms: from the barrier\'s "go" to the last process done, token requests and queries included)',
    );

    // Latency of a cached token read: through Redis vs the manager's in-process cache.
    const prefix = `arcgis-etl-bench:latency:${runId}:`;
    prefixes.push(prefix);
    const store = new RedisStore({ url: REDIS_URL, prefix, key: null });
    const connection = await connect({
      url: emu.layerUrl('Bench'),
      credentials: USER,
      tokenCache: store,
      emit: () => {},
    });
    const layerUrl = emu.layerUrl('Bench');
    await connection.auth.getToken(layerUrl);
    const key = connection.auth.storeKey;
    const sealed = new RedisStore({ url: REDIS_URL, prefix, key: 'bench-cache-key' });
    await sealed.set('sealed', await store.get(key), 3_600_000);
    const rows = [
      [
        'TokenManager.getToken (warm, in-process cache)',
        await measure(() => connection.auth.getToken(layerUrl)),
      ],
      ['RedisStore.get (plain JSON)', await measure(() => store.get(key))],
      ['RedisStore.get (AES-256-GCM)', await measure(() => sealed.get('sealed'))],
    ];
    await sealed.close();
    await connection.close();
    console.log(`\nCached getToken latency (${ITERATIONS} reads after ${WARMUP} warm-up)`);
    console.log('read                                            │   p50 ms │   p99 ms');
    console.log('────────────────────────────────────────────────┼──────────┼─────────');
    for (const [name, { p50, p99 }] of rows) {
      console.log(`${name.padEnd(47)} │ ${pad(p50.toFixed(4), 8)} │ ${pad(p99.toFixed(4), 8)}`);
    }
    console.log(
      'A manager reads Redis only on a miss of its in-process cache (start, refresh, after a 498):',
    );
    console.log('the Redis figure is the added latency of those reads, not of every request.');
    if (JSON_MODE) {
      console.log(
        JSON.stringify({
          bench: 'fleet',
          quick: QUICK,
          concurrency: CONCURRENCY,
          fleets: table.map(({ n, redis, file, memory }) => ({
            n,
            tokens: { redis: redis.tokens, file: file.tokens, memory: memory.tokens },
            ms: { redis: Math.round(redis.ms), file: Math.round(file.ms), memory: Math.round(memory.ms) },
            failed: redis.failed + file.failed + memory.failed,
          })),
          latencyMs: Object.fromEntries(rows.map(([name, { p50, p99 }]) => [name, { p50, p99 }])),
        }),
      );
    }
  } finally {
    for (const prefix of prefixes) await deletePrefix(prefix);
    await emu.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
