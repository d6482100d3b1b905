/**
 * Issue 17, failed jobs: a failure retries with backoff a bounded number of times, then stays failed
 * with its error; bad credentials are never retried (one bad login in all). `status` says why.
 * (The worker runs in this process: what is tested here is the queue's handling, not processes.)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { saveRun } from '../../src/fleet/runs.js';
import {
  type FleetJobData,
  type FleetQueue,
  type FleetWorker,
  formatRunStatus,
  startFleetWorker,
  waitForRun,
} from '../../src/index.js';
import { FLEET_USER } from './helpers.js';
import { sharedRedisUp, type TestRedis, testRedis } from './redis.js';

const run = await sharedRedisUp('fleet failure tests');

describe.runIf(run)('fleet: failed jobs', () => {
  let emu: EmulatorHandle;
  let dir: string;
  let fleet: FleetQueue;
  let worker: FleetWorker;
  let redis: TestRedis;
  let queueName: string;

  beforeAll(async () => {
    emu = await startEmulator({
      users: [FLEET_USER],
      seed: 1,
      layers: [{ service: 'Parcels', generate: { count: 10, geometry: 'point', seed: 1 } }],
    });
    dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-fleet-failures-'));
    redis = await testRedis('fleet-failures');
    redis.runs.push('bad-credentials', 'unwritable');
    queueName = redis.queueName;
    fleet = await redis.fleet();
    worker = startFleetWorker({
      url: redis.url,
      queueName,
      lockDurationMs: 5_000,
      env: { GOOD_USER: FLEET_USER.username, GOOD_PASS: FLEET_USER.password, BAD_PASS: 'not-the-password' },
    });
    await worker.ready();
  }, 30_000);

  afterAll(async () => {
    await worker?.close(true);
    await redis?.close();
    await emu?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function enqueue(runId: string, layer: string, output: string, credential: 'good' | 'bad') {
    const data: FleetJobData = {
      run: runId,
      kind: 'layer',
      file: 'failures.yaml',
      hosts: { '*': 2 },
      credentials: {
        good: { username: { env: 'GOOD_USER' }, password: { env: 'GOOD_PASS' } },
        bad: { username: { env: 'GOOD_USER' }, password: { env: 'BAD_PASS' } },
      },
      job: {
        pipeline: 'failures',
        id: layer,
        url: emu.layerUrl('Parcels', 0),
        output,
        credentials: credential,
        options: {},
        service: 'Parcels',
        layerId: 0,
        name: 'Parcels',
      },
    };
    const jobId = `${runId}.${layer}`;
    await fleet.queue.add('layer', data, { jobId, attempts: 3, backoff: { type: 'exponential', delay: 50 } });
    await saveRun(fleet.redis.raw, queueName, {
      run: runId,
      pipeline: 'failures',
      createdAt: Date.now(),
      layers: [{ id: layer, url: data.job.url, output, jobId, shardIds: [] }],
    });
  }

  it('never retries bad credentials: failed after one attempt, one bad login', async () => {
    emu.resetStats();
    await enqueue('bad-credentials', 'parcels', join(dir, 'bad.geojsonl'), 'bad');
    const status = await waitForRun(fleet, 'bad-credentials', { intervalMs: 50 });
    const layer = status.layers[0]!;
    expect(layer.state).toBe('failed');
    expect(layer.attempts).toBe(1);
    expect(layer.reason).toMatch(/^BAD_CREDENTIALS: /);
    expect(emu.stats().badLogins).toBe(1);
    expect(formatRunStatus(status).join('\n')).toMatch(/failed {2}parcels .*BAD_CREDENTIALS/);
  });

  it('retries other failures with backoff, a bounded number of times, and keeps the error', async () => {
    const notAFolder = join(dir, 'file');
    await writeFile(notAFolder, 'x');
    await enqueue('unwritable', 'parcels', join(notAFolder, 'out.geojsonl'), 'good');
    const status = await waitForRun(fleet, 'unwritable', { intervalMs: 50 });
    const layer = status.layers[0]!;
    expect(layer.state).toBe('failed');
    expect(layer.attempts).toBe(3);
    expect(layer.reason).toMatch(/ENOTDIR|EEXIST|not a directory/i);
  });
});
