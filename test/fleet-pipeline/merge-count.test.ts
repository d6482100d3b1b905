/**
 * Issue 17, a sharded layer's merge and its count (the worker runs in this process, started once
 * each run's jobs are queued and the scene is set):
 * - a shard that fails leaves the layer unmerged: no output, the layer failed with a reason that
 *   names the shard (what `status` and `run --queue` print; `run --queue` exits non-zero);
 * - a shard an earlier attempt had published (skipped by its retry) still counts: the merged count
 *   is the sum of the shards' counts and the layer's count, and the output is the whole layer.
 */
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { FLEET_PREFIX, type FleetJobData, type FleetResult } from '../../src/fleet/job-data.js';
import { Publisher, stagingPath } from '../../src/fleet/publish.js';
import { runLayerExport } from '../../src/fleet/run-layer.js';
import { enqueuePipeline, type FleetQueue, formatRunStatus, startFleetWorker } from '../../src/index.js';
import { credentialConnectOptions } from '../../src/pipeline/credentials.js';
import { runInProcess } from '../cli/in-process.js';
import {
  CREDENTIAL_ENV,
  FLEET_USER,
  referenceRun,
  sourcesYaml,
  workInProcess,
  writePipeline,
} from './helpers.js';
import { sharedRedisUp, type TestRedis, testRedis } from './redis.js';

const run = await sharedRedisUp('fleet merge count tests');

describe.runIf(run)('fleet: the merge of a sharded layer and its count', () => {
  let emu: EmulatorHandle;
  let root: string;
  let redis: TestRedis;
  let fleet: FleetQueue;

  const yaml = () => sourcesYaml(emu, [['Big', 'out/{service}-{layer}.geojsonl']], 2);

  beforeAll(async () => {
    emu = await startEmulator({
      users: [FLEET_USER],
      seed: 1,
      layers: [{ service: 'Big', generate: { count: 40, geometry: 'point', seed: 7 }, maxRecordCount: 10 }],
    });
    root = await mkdtemp(join(tmpdir(), 'arcgis-etl-fleet-merge-'));
    redis = await testRedis('fleet-merge');
    fleet = await redis.fleet();
  }, 30_000);

  afterAll(async () => {
    await redis?.close();
    await emu?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function enqueue(dir: string) {
    const { pipeline } = await writePipeline(join(root, dir), yaml());
    const enqueued = await enqueuePipeline(fleet, pipeline, {
      url: redis.url,
      queueName: redis.queueName,
      shardSize: 10,
      attempts: 1,
      backoffMs: 50,
      env: CREDENTIAL_ENV,
    });
    redis.runs.push(enqueued.run);
    const layer = enqueued.record.layers[0]!;
    expect(layer.shardIds).toHaveLength(4);
    const shards = await Promise.all(layer.shardIds.map((id) => fleet.queue.getJob(id)));
    return { enqueued, layer, shards: shards.map((job) => job!.data as FleetJobData) };
  }

  const work = (runId: string) => workInProcess(fleet, redis.url, redis.queueName, runId);

  it('a failed shard: nothing is merged or published, the layer fails naming the shard', async () => {
    const { enqueued, layer, shards } = await enqueue('failed');
    // the second shard cannot publish its part: a folder (not empty) stands in its place
    await mkdir(join(shards[1]!.shard!.part, 'in-the-way'), { recursive: true });
    const status = await work(enqueued.run);
    const text = formatRunStatus(status).join('\n');
    expect(status.totals, text).toMatchObject({ done: 0, failed: 1 });
    expect(status.layers[0]?.reason).toMatch(/^shard 2 of 4 \(job \S+\.shard1\): /);
    expect(text).toMatch(/failed {2}\S+ .*\(shard 2 of 4 \(job /);
    await expect(access(layer.output)).rejects.toThrow();
    const merge = await fleet.queue.getJob(layer.jobId);
    expect(await merge?.getState()).not.toBe('completed');
  }, 30_000);

  it('run --queue exits non-zero with a line naming the failed shard; nothing is published', async () => {
    const { file } = await writePipeline(join(root, 'cli'), yaml());
    // the output folder is a file: no shard can write its part
    await writeFile(join(root, 'cli', 'out'), 'not a folder');
    const worker = startFleetWorker({
      url: redis.url,
      queueName: redis.queueName,
      lockDurationMs: 5_000,
      env: CREDENTIAL_ENV,
    });
    await worker.ready();
    try {
      const args = ['run', file, '--queue', redis.url, '--queue-name', redis.queueName, '--shard-size', '10'];
      const result = await runInProcess([...args, '--attempts', '1'], { env: CREDENTIAL_ENV });
      redis.runs.push(/^run (\S+):/m.exec(result.stderr)?.[1] ?? '');
      expect(result.code, result.stderr).not.toBe(0);
      expect(result.stderr).toMatch(/^failed {2}\S+: shard [1-4] of 4 \(job \S+\.shard[0-3]\): .*ENOTDIR/m);
      expect(result.stderr).toMatch(/total: 0 of 1 layers written/);
      expect(result.stderr).toMatch(/1 of 1 layers failed \(\S+\): shard [1-4] of 4 \(job /);
    } finally {
      await worker.close();
    }
  }, 30_000);

  it('a shard published by an earlier attempt counts in the merge: merged = Σ shards = the layer', async () => {
    const { pipeline: reference } = await writePipeline(join(root, 'reference'), yaml());
    await referenceRun(reference);
    const { enqueued, layer, shards } = await enqueue('skipped');
    // an earlier attempt of the first shard exported and published its part, then its worker died
    // before the job completed: the retry finds the part published and skips the export
    const first = shards[0]!;
    const connection = await connect({
      url: first.job.url,
      tokenCache: 'memory',
      ...(await credentialConnectOptions(reference, 'main', { env: CREDENTIAL_ENV })),
    });
    try {
      const staging = await stagingPath(first.shard!.part, 'earlier');
      const { features } = await runLayerExport(first.job, staging, first.shard!.where, {
        client: connection.client,
      });
      expect(features).toBe(10);
      const publisher = new Publisher(fleet.redis.raw, FLEET_PREFIX);
      const fence = { token: 'an-earlier-attempt', stillOurs: async () => true };
      expect(await publisher.publish(enqueued.run, staging, first.shard!.part, fence, features)).toBe(true);
    } finally {
      await connection.close();
    }

    const status = await work(enqueued.run);
    expect(status.totals, formatRunStatus(status).join('\n')).toMatchObject({ done: 1, failed: 0 });
    const results = await Promise.all(
      layer.shardIds.map(async (id) => (await fleet.queue.getJob(id))?.returnvalue as FleetResult),
    );
    expect(results[0]).toMatchObject({ published: false, features: 10 });
    const shardSum = results.reduce((n, r) => n + r.features, 0);
    expect(shardSum).toBe(40);
    expect(status.layers[0]?.features).toBe(shardSum);
    expect(status.totals.features).toBe(40);
    const merged = await readFile(layer.output);
    expect(merged.equals(await readFile(join(root, 'reference', 'out', 'Big-0.geojsonl')))).toBe(true);
  }, 30_000);
});
