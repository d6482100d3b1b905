// A pipeline of 20 layers × 50,000 features, 200 ms per query, run by 1, 2 and 4 worker processes
// (`arcgis-etl worker`) through the BullMQ queue on Redis; the emulator runs in its own process.
// Each worker sends at most 4 queries at once (`--max-concurrency 4`); the pipeline's host budget
// (16) holds fleet-wide, and the emulator's recorded peak of concurrent queries is printed with
// each run. Timed: from enqueue to the last layer written (workers started and ready before).
// Run `npm run build` first. Prints a table; --json adds one JSON line.
//
// BENCH_FEATURES (50000), BENCH_LAYERS (20), BENCH_LATENCY (200), BENCH_WORKERS (1,2,4),
// BENCH_BUDGET (16), BENCH_PAGE (1000), BENCH_PER_WORKER (4); --quick: 20 × 10,000.
// BENCH_CPU_PROF=DIR: each worker writes a V8 CPU profile there (node --cpu-prof) when it exits.
// The same file is the emulator process: `node bench/fleet-pipeline.mjs --emulator`.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const USER = { username: 'bench-fleet', password: 'Bench-Fleet-Passw0rd!' };
const JSON_MODE = process.argv.includes('--json');
const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const FEATURES = Number(process.env.BENCH_FEATURES || (QUICK ? 10_000 : 50_000));
const LAYERS = Number(process.env.BENCH_LAYERS || 20);
const LATENCY = Number(process.env.BENCH_LATENCY || 200);
const BUDGET = Number(process.env.BENCH_BUDGET || 16);
const PAGE = Number(process.env.BENCH_PAGE || 1_000);
const PER_WORKER = Number(process.env.BENCH_PER_WORKER || 4);
const WORKERS = (process.env.BENCH_WORKERS || '1,2,4').split(',').map(Number);
const SELF = fileURLToPath(import.meta.url);
const BIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

if (process.argv.includes('--emulator')) await emulator();
else await main();

async function emulator() {
  const { startEmulator } = await import('../dist/emulator/index.js');
  const layers = Array.from({ length: LAYERS }, (_, i) => ({
    service: `Layer${i}`,
    generate: { count: FEATURES, geometry: 'point', seed: i + 1 },
    maxRecordCount: PAGE,
  }));
  const emu = await startEmulator({ users: [USER], seed: 1, layers, faults: { latencyMs: LATENCY } });
  process.stdout.write(
    `${JSON.stringify({ url: emu.url, layers: layers.map((l) => emu.layerUrl(l.service)) })}\n`,
  );
  process.stdin.resume();
  process.stdin.on('end', async () => {
    await emu.stop();
    process.exit(0);
  });
}

async function control(base, action, method = 'GET') {
  const response = await fetch(`${new URL(base).origin}/__emulator/${action}`, { method });
  return response.json();
}

function spawnWorker(queueName, name) {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []),
      BIN,
      'worker',
      '--queue',
      REDIS_URL,
      '--queue-name',
      queueName,
      '--name',
      name,
      '--max-concurrency',
      String(PER_WORKER),
    ],
    {
      env: { PATH: process.env.PATH, BENCH_USER: USER.username, BENCH_PASS: USER.password },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (d) => {
    log += d;
  });
  const ready = new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker exited (${code}): ${log}`)));
    const timer = setInterval(() => {
      if (log.includes('is taking jobs')) {
        clearInterval(timer);
        resolve();
      }
    }, 20);
  });
  return { child, ready, log: () => log };
}

async function main() {
  const t = (m) => process.env.BENCH_DEBUG && console.error(`${Math.round(performance.now())} ${m}`);
  const { FleetQueue, enqueuePipeline, loadPipeline, waitForRun } = await import('../dist/index.js');
  const emuChild = spawn(process.execPath, [SELF, '--emulator'], {
    env: { ...process.env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const [line] = await once(createInterface({ input: emuChild.stdout }), 'line');
  const { url, layers } = JSON.parse(line);
  t('emulator up');
  const dir = await mkdtemp(path.join(tmpdir(), 'arcgis-etl-bench-fleet-'));
  const rows = [];
  try {
    for (const n of WORKERS) {
      const queueName = `bench-fleet-${process.pid}-${n}`;
      const out = path.join(dir, `w${n}`);
      const yaml = `version: 1
credentials:
  main: { username: { env: BENCH_USER }, password: { env: BENCH_PASS } }
defaults: { credentials: main, format: geojsonseq }
hosts: { "*": { concurrency: ${BUDGET} } }
sources:
${layers.map((u) => `  - url: ${u}\n    output: out/{service}.geojsonl\n`).join('')}`;
      const file = path.join(out, 'bench.yaml');
      await rm(out, { recursive: true, force: true });
      await import('node:fs/promises').then((fs) => fs.mkdir(out, { recursive: true }));
      await writeFile(file, yaml);
      const pipeline = { ...loadPipeline(yaml, file), baseDir: out };
      t('spawning');
      const workers = Array.from({ length: n }, (_, i) => spawnWorker(queueName, `bench-${n}-${i}`));
      await Promise.all(workers.map((w) => w.ready));
      t('workers ready');
      const fleet = await new FleetQueue(REDIS_URL, queueName).open();
      await control(url, 'reset-stats', 'POST');
      const started = performance.now();
      const { run } = await enqueuePipeline(fleet, pipeline, {
        url: REDIS_URL,
        queueName,
        env: { BENCH_USER: USER.username, BENCH_PASS: USER.password },
      });
      t(`enqueued ${run}`);
      const status = await waitForRun(fleet, run, { intervalMs: 100 });
      const seconds = (performance.now() - started) / 1000;
      const stats = await control(url, 'stats');
      rows.push({
        workers: n,
        seconds,
        layersDone: status.totals.done,
        features: status.totals.features,
        peakConcurrency: stats.load.peakConcurrency,
        queries: stats.requests.query ?? 0,
        tokens: stats.tokens,
      });
      await fleet.queue.obliterate({ force: true });
      await fleet.close();
      for (const w of workers) w.child.kill('SIGTERM');
      await Promise.all(workers.map((w) => once(w.child, 'exit')));
    }
  } finally {
    emuChild.stdin.end();
    await once(emuChild, 'exit');
    await rm(dir, { recursive: true, force: true });
  }
  const base = rows[0]?.seconds ?? 1;
  console.log(
    `fleet pipeline: ${LAYERS} layers × ${FEATURES} features, ${LATENCY} ms per query, pages of ${PAGE}, ${PER_WORKER} queries at once per worker, host budget ${BUDGET}`,
  );
  console.log('workers | seconds | speed-up | layers | features | peak queries | queries | tokens');
  for (const r of rows) {
    console.log(
      `${String(r.workers).padStart(7)} | ${r.seconds.toFixed(1).padStart(7)} | ${(base / r.seconds).toFixed(2).padStart(7)}× | ${String(r.layersDone).padStart(6)} | ${String(r.features).padStart(8)} | ${String(r.peakConcurrency).padStart(12)} | ${String(r.queries).padStart(7)} | ${r.tokens}`,
    );
  }
  if (JSON_MODE)
    console.log(
      JSON.stringify({ layers: LAYERS, features: FEATURES, latencyMs: LATENCY, budget: BUDGET, rows }),
    );
  process.exit(0);
}
