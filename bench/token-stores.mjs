// Latency of a cached token read (get) through each store, with a raw @redis/client GET as the
// peer baseline measured in the same run. Run `npm run build` first. Prints a table and exits.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createClient } from '@redis/client';
import { FileStore } from '../dist/stores/file.js';
import { MemoryStore } from '../dist/stores/memory.js';
import { RedisStore } from '../dist/stores/redis.js';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const ITERATIONS = Number(process.env.BENCH_ITERATIONS || 5_000);
const WARMUP = 500;
const prefix = `arcgis-etl-bench:${process.pid}:`;

function record() {
  const now = Date.now();
  return {
    token: `bench-token-${'x'.repeat(200)}`,
    expiresAt: now + 3_600_000,
    issuedAt: now,
    tokenUrl: 'https://gis.example.com/portal/sharing/rest/generateToken',
    scope: 'https://gis.example.com',
    username: 'bench',
    kind: 'generateToken',
  };
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

const rows = [];
const memory = new MemoryStore();
await memory.set('k', record(), 3_600_000);
rows.push(['memory get', await measure(() => memory.get('k'))]);

const dir = await mkdtemp(path.join(tmpdir(), 'arcgis-etl-bench-'));
try {
  const file = new FileStore({ path: path.join(dir, 'tokens.json'), key: null });
  await file.set('k', record(), 3_600_000);
  rows.push(['file get (plain)', await measure(() => file.get('k'))]);
  const sealedFile = new FileStore({ path: path.join(dir, 'sealed.json'), key: 'bench-key' });
  await sealedFile.set('k', record(), 3_600_000);
  rows.push(['file get (AES-GCM)', await measure(() => sealedFile.get('k'))]);
  rows.push(['file set (fsync+rename)', await measure(() => file.set('k', record(), 3_600_000))]);
} finally {
  await rm(dir, { recursive: true, force: true });
}

const raw = createClient({ url: REDIS_URL, socket: { connectTimeout: 1_000, reconnectStrategy: false } });
raw.on('error', () => undefined);
let redisUp = true;
try {
  await raw.connect();
} catch {
  redisUp = false;
}
let baseline;
if (redisUp) {
  const plain = new RedisStore({ url: REDIS_URL, prefix, key: null });
  const sealed = new RedisStore({ url: REDIS_URL, prefix: `${prefix}sealed:`, key: 'bench-key' });
  await plain.set('k', record(), 3_600_000);
  await sealed.set('k', record(), 3_600_000);
  baseline = await measure(() => raw.get(`${prefix}token:k`));
  rows.push(['raw @redis/client GET (peer)', baseline]);
  rows.push(['redis get (plain)', await measure(() => plain.get('k'))]);
  rows.push(['redis get (AES-GCM)', await measure(() => sealed.get('k'))]);
  rows.push([
    'redis withLock (uncontended)',
    await measure(() => plain.withLock('lk', async () => undefined)),
  ]);
  await raw.del([`${prefix}token:k`, `${prefix}sealed:token:k`]);
  await Promise.all([plain.close(), sealed.close(), raw.close()]);
} else {
  console.log(`(Redis not reachable at ${REDIS_URL.replace(/\/\/[^@]*@/, '//')}: Redis rows skipped)`);
}

console.log(`\ncached token read latency, ${ITERATIONS} iterations (ms)\n`);
console.log(
  `${'operation'.padEnd(32)}${'p50'.padStart(10)}${'p99'.padStart(10)}${'p50 vs raw GET'.padStart(16)}`,
);
for (const [name, { p50, p99 }] of rows) {
  const ratio = baseline ? `${(p50 / baseline.p50).toFixed(2)}x` : '-';
  console.log(
    `${name.padEnd(32)}${p50.toFixed(3).padStart(10)}${p99.toFixed(3).padStart(10)}${ratio.padStart(16)}`,
  );
}
