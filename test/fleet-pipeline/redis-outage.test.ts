/**
 * Issue 17, the fleet through a Redis outage: our own redis-server (persistent: append-only file,
 * fsync always) is killed by PID in the middle of a run and started again on the same port and
 * files. The worker processes wait and resume; the run completes; every output is byte-identical
 * to a one-process run and published once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { enqueuePipeline, formatRunStatus, waitForRun } from '../../src/index.js';
import { assertBuilt } from '../fleet/helpers.js';
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
import { ownRedisPossible, type TestRedis, testRedis } from './redis.js';

const run = ownRedisPossible('fleet Redis outage test');

describe.runIf(run)('fleet: Redis stops in the middle of a run', () => {
  let emu: EmulatorHandle;
  let root: string;
  let test: TestRedis;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    assertBuilt();
    root = await mkdtemp(join(tmpdir(), 'arcgis-etl-fleet-outage-'));
    test = await testRedis('outage', { persistDir: root });
    emu = await startEmulator({
      users: [FLEET_USER],
      seed: 1,
      layers: twentyLayers(),
      faults: { latencyMs: 30 },
    });
  }, 30_000);

  afterAll(async () => {
    await stopWorkers(workers);
    await test?.close();
    await emu?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('workers wait for Redis and resume; nothing is published twice', async () => {
    const redis = test.server!;
    for (let i = 0; i < 2; i++) workers.push(spawnWorker(test.url, test.queueName, `o${i}`));
    const { pipeline: ref } = await writePipeline(join(root, 'reference'), pipelineYaml(emu, 3));
    await referenceRun(ref);
    const reference = await filesOf(join(root, 'reference', 'out'));
    await Promise.all(workers.map((w) => workerReady(w)));

    const fleet = await test.fleet();
    const { pipeline } = await writePipeline(join(root, 'fleet'), pipelineYaml(emu, 3));
    const enqueued = await enqueuePipeline(fleet, pipeline, {
      url: test.url,
      queueName: test.queueName,
      shardSize: 50,
      backoffMs: 200,
      env: CREDENTIAL_ENV,
    });
    // some layers written, others not yet: Redis goes away
    for (;;) {
      const status = await fleet.status(enqueued.run);
      if ((status?.totals.done ?? 0) >= 3) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await redis.kill();
    await new Promise((r) => setTimeout(r, 1_500));
    await redis.start();

    const status = await waitForRun(fleet, enqueued.run, { intervalMs: 100 });
    expect(status.totals, formatRunStatus(status).join('\n')).toMatchObject({ done: 20, failed: 0 });
    for (const w of workers) expect(w.child.exitCode, w.log.join('')).toBeNull();
    const outputs = await filesOf(join(root, 'fleet', 'out'));
    expect([...outputs.keys()]).toEqual([...reference.keys()]);
    for (const [name, bytes] of reference) expect(outputs.get(name)?.equals(bytes), name).toBe(true);
    for (const [output, count] of publications(workers)) expect(count, output).toBe(1);
  }, 60_000);
});
