/**
 * Issue 17, the fleet: a pipeline of 20 layers (points, polygons, a table, one layer sharded into
 * 4) run by 4 worker PROCESSES through BullMQ on the real Redis.
 * - every output is byte-identical to a one-process run; the emulator issues 1 token; the peak
 *   of concurrent queries stays within the pipeline's host budget;
 * - kill -9 a worker during a job, twice: the run completes, outputs byte-identical, no staging
 *   file or part folder left, every output published once;
 * - `run --queue` is the coordinator (a process): exit 0, stats JSON; `status --json` shows each layer.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import {
  enqueuePipeline,
  type FleetQueue,
  formatRunStatus,
  type RunStatus,
  waitForRun,
} from '../../src/index.js';
import { runInProcess } from '../cli/in-process.js';
import { assertBuilt, runCli } from '../fleet/helpers.js';
import {
  CREDENTIAL_ENV,
  FLEET_USER,
  filesOf,
  pipelineYaml,
  publications,
  referenceRun,
  spawnWorker,
  stopWorkers,
  twentyLayers,
  type WorkerProcess,
  workerReady,
  writePipeline,
} from './helpers.js';
import { sharedRedisUp, type TestRedis, testRedis } from './redis.js';

const run = await sharedRedisUp('fleet pipeline tests');
const BUDGET = 3;

describe.runIf(run)('fleet: 20 layers, 4 worker processes', () => {
  let emu: EmulatorHandle;
  let root: string;
  let reference: Map<string, Buffer>;
  let redis: TestRedis;
  let fleet: FleetQueue;
  let queueName: string;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    assertBuilt();
    emu = await startEmulator({
      users: [FLEET_USER],
      seed: 1,
      layers: twentyLayers(),
      faults: { latencyMs: 15 },
    });
    root = await mkdtemp(join(tmpdir(), 'arcgis-etl-fleet-pipeline-'));
    redis = await testRedis('fleet');
    queueName = redis.queueName;
    for (let i = 0; i < 4; i++) workers.push(spawnWorker(redis.url, queueName, `w${i}`));
    const { pipeline } = await writePipeline(join(root, 'reference'), pipelineYaml(emu, BUDGET));
    await referenceRun(pipeline);
    reference = await filesOf(join(root, 'reference', 'out'));
    fleet = await redis.fleet();
    await Promise.all(workers.map((w) => workerReady(w)));
    emu.resetStats();
  }, 60_000);

  afterAll(async () => {
    await stopWorkers(workers);
    await redis?.close();
    await emu?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('run --queue (a coordinator process): every output exact, 1 token, the host budget held fleet-wide', async () => {
    expect(reference.size).toBe(20);
    const { file } = await writePipeline(join(root, 'fleet'), pipelineYaml(emu, BUDGET));
    const stats = join(root, 'fleet-stats.json');
    const coordinator = await runCli(
      [
        'run',
        file,
        '--queue',
        redis.url,
        '--queue-name',
        queueName,
        '--shard-size',
        '50',
        '--retry-delay',
        '200',
        '--stats-json',
        stats,
      ],
      CREDENTIAL_ENV,
      { timeoutMs: 60_000 },
    );
    redis.runs.push(/^run (\S+):/m.exec(coordinator.stderr)?.[1] ?? '');
    expect(coordinator.code, coordinator.stderr).toBe(0);
    expect(coordinator.stderr).toMatch(/: 20 layers, 24 jobs on /); // Big: 4 shards and their merge
    expect(coordinator.stderr).toMatch(/total: 20 of 20 layers written/);
    const rows = JSON.parse(await readFile(stats, 'utf8')) as {
      layers: Array<{ state: string; shards?: number }>;
    };
    expect(rows.layers).toHaveLength(20);
    expect(rows.layers.every((l) => l.state === 'done')).toBe(true);
    expect(rows.layers.filter((l) => l.shards === 4)).toHaveLength(1);

    const status = await runInProcess(['status', '--queue', redis.url, '--queue-name', queueName, '--json']);
    expect(status.code, status.stderr).toBe(0);
    const [last] = (JSON.parse(status.stdout) as { runs: RunStatus[] }).runs;
    expect(last?.totals).toMatchObject({ done: 20, failed: 0, waiting: 0, running: 0 });
    expect(last?.layers.find((l) => l.url.includes('/Big/'))).toMatchObject({
      features: 200,
      shards: { done: 4, count: 4 },
    });

    const outputs = await filesOf(join(root, 'fleet', 'out'));
    expect([...outputs.keys()]).toEqual([...reference.keys()]);
    for (const [name, bytes] of reference) expect(outputs.get(name)?.equals(bytes), name).toBe(true);

    const served = emu.stats();
    expect(served.tokens).toBe(1);
    expect(served.load.peakConcurrency).toBeGreaterThan(1);
    expect(served.load.peakConcurrency).toBeLessThanOrEqual(BUDGET);
    for (const count of publications(workers).values()) expect(count).toBe(1);
  }, 60_000);

  it('survives two kill -9 of a worker in the middle of a job: outputs byte-identical, published once', async () => {
    emu.setFaults({ latencyMs: 40 });
    const { pipeline } = await writePipeline(join(root, 'killed'), pipelineYaml(emu, BUDGET));
    const enqueued = await enqueuePipeline(fleet, pipeline, {
      url: redis.url,
      queueName,
      shardSize: 50,
      backoffMs: 200,
      env: CREDENTIAL_ENV,
    });
    redis.runs.push(enqueued.run);
    const killed: string[] = [];
    for (let round = 0; round < 2; round++) {
      const victim = await aWorkerInAJob(fleet, workers, killed);
      await new Promise((r) => setTimeout(r, 50 + Math.floor(Math.random() * 250)));
      victim.child.kill('SIGKILL');
      await victim.exited;
      killed.push(victim.name);
      workers.push(spawnWorker(redis.url, queueName, `w${workers.length}`));
    }
    const status = await waitForRun(fleet, enqueued.run, { intervalMs: 100 });
    expect(status.totals, formatRunStatus(status).join('\n')).toMatchObject({ done: 20, failed: 0 });
    const outputs = await filesOf(join(root, 'killed', 'out'));
    expect([...outputs.keys()]).toEqual([...reference.keys()]);
    for (const [name, bytes] of reference) expect(outputs.get(name)?.equals(bytes), name).toBe(true);
    const published = publications(workers);
    for (const [output, count] of published) expect(count, output).toBe(1);
  }, 60_000);
});

/** A live worker (not already killed) running a job now, by the progress its job reports. */
async function aWorkerInAJob(
  fleet: FleetQueue,
  workers: readonly WorkerProcess[],
  killed: readonly string[],
): Promise<WorkerProcess> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    for (const job of await fleet.queue.getActive()) {
      const name = (job.progress as { worker?: string } | undefined)?.worker;
      const worker = workers.find(
        (w) => w.name === name && !killed.includes(w.name) && w.child.exitCode === null,
      );
      if (worker) return worker;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no worker took a job');
}
