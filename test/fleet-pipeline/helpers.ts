/**
 * Fleet pipeline tests: an emulator of 20 small layers in this process, worker PROCESSES started
 * with the built CLI, and a one-process reference run of the same pipeline (runPipelineJob, the
 * code `run` uses locally) to compare bytes with.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from '../../src/client/connect.js';
import type { EmulatorHandle, LayerSpec } from '../../src/emulator/types.js';
import { type FleetQueue, type RunStatus, startFleetWorker, waitForRun } from '../../src/index.js';
import { credentialConnectOptions } from '../../src/pipeline/credentials.js';
import { loadPipeline } from '../../src/pipeline/load.js';
import { planPipeline } from '../../src/pipeline/plan.js';
import { runPipelineJob } from '../../src/pipeline/run-job.js';
import type { Pipeline } from '../../src/pipeline/types.js';
import { BIN } from '../fleet/helpers.js';

export const FLEET_USER = { username: 'fleet-pipeline', password: 'Fleet-Pipeline-Passw0rd!' };
export const CREDENTIAL_ENV = { FLEET_USER: FLEET_USER.username, FLEET_PASS: FLEET_USER.password };

/** 15 point layers, 3 polygon layers, a table, and `Big` (sharded: 4 × 50 with --shard-size 50). */
export function twentyLayers(): LayerSpec[] {
  const layers: LayerSpec[] = [];
  for (let i = 0; i < 15; i++) {
    layers.push({
      service: `Points${i}`,
      generate: { count: 20 + i * 2, geometry: 'point', seed: 100 + i },
      maxRecordCount: 20,
    });
  }
  for (let i = 0; i < 3; i++) {
    layers.push({
      service: `Polygons${i}`,
      generate: { count: 25, geometry: 'polygon', seed: 200 + i },
      maxRecordCount: 20,
    });
  }
  layers.push({
    service: 'Table',
    type: 'Table',
    generate: { count: 40, geometry: 'point', seed: 300 },
    maxRecordCount: 20,
  });
  layers.push({ service: 'Big', generate: { count: 200, geometry: 'point', seed: 400 }, maxRecordCount: 25 });
  return layers;
}

/** The pipeline file of those layers: geojsonseq points, GeoJSON polygons, a CSV table. */
export function pipelineYaml(emu: EmulatorHandle, budget: number): string {
  const sources: Array<[string, string]> = [];
  for (let i = 0; i < 15; i++) sources.push([`Points${i}`, 'out/{service}-{layer}.geojsonl']);
  for (let i = 0; i < 3; i++) sources.push([`Polygons${i}`, 'out/{service}-{layer}.geojson']);
  sources.push(['Table', 'out/{service}-{layer}.csv'], ['Big', 'out/{service}-{layer}.geojsonl']);
  return sourcesYaml(emu, sources, budget);
}

/** A pipeline file of the emulator's services (layer 0 of each) to their outputs, credential `main`. */
export function sourcesYaml(
  emu: EmulatorHandle,
  sources: ReadonlyArray<readonly [service: string, output: string]>,
  budget: number,
): string {
  const lines = sources.map(
    ([service, output]) => `  - url: ${emu.layerUrl(service, 0)}\n    output: ${output}\n`,
  );
  return `version: 1
credentials:
  main: { username: { env: FLEET_USER }, password: { env: FLEET_PASS } }
defaults: { credentials: main }
hosts: { "*": { concurrency: ${budget} } }
sources:
${lines.join('')}`;
}

/** A run to its end with one worker in this process (started now); resolves with its last status. */
export async function workInProcess(
  fleet: FleetQueue,
  redisUrl: string,
  queueName: string,
  run: string,
): Promise<RunStatus> {
  const worker = startFleetWorker({ url: redisUrl, queueName, lockDurationMs: 5_000, env: CREDENTIAL_ENV });
  try {
    await worker.ready();
    return await waitForRun(fleet, run, { intervalMs: 50 });
  } finally {
    await worker.close();
  }
}

/** Writes the pipeline file into `dir` and loads it (outputs go to `dir/out`). */
export async function writePipeline(
  dir: string,
  yaml: string,
): Promise<{ file: string; pipeline: Pipeline }> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'nightly.yaml');
  await writeFile(file, yaml);
  return { file, pipeline: { ...loadPipeline(yaml, file), baseDir: dir } };
}

/** The one-process run: every planned job through runPipelineJob (memory token store). */
export async function referenceRun(pipeline: Pipeline): Promise<void> {
  const connection = await connect({
    url: pipeline.sources[0]!.url,
    tokenCache: 'memory',
    ...(await credentialConnectOptions(pipeline, 'main', { env: CREDENTIAL_ENV })),
  });
  try {
    const jobs = await planPipeline(pipeline, { clientFor: async () => connection.client });
    await mkdir(join(pipeline.baseDir, 'out'), { recursive: true });
    for (const job of jobs) await runPipelineJob(job, { client: connection.client });
  } finally {
    await connection.close();
  }
}

/** Every file of a folder (hidden ones too: staging files or part folders must not remain). */
export async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of (await readdir(dir)).sort()) files.set(entry, await readFile(join(dir, entry)));
  return files;
}

export interface WorkerProcess {
  name: string;
  child: ChildProcess;
  /** stderr so far. */
  log: string[];
  exited: Promise<number | null>;
}

export function spawnWorker(
  redisUrl: string,
  queueName: string,
  name: string,
  lockMs = 1_500,
): WorkerProcess {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'worker',
      '--queue',
      redisUrl,
      '--queue-name',
      queueName,
      '--lock-duration',
      String(lockMs),
      '--name',
      name,
    ],
    { env: { PATH: process.env.PATH, ...CREDENTIAL_ENV }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const log: string[] = [];
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => log.push(chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, child, log, exited };
}

/** Resolves when the worker said it is taking jobs. */
export async function workerReady(worker: WorkerProcess, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!worker.log.join('').includes('is taking jobs')) {
    if (worker.child.exitCode !== null)
      throw new Error(`worker ${worker.name} exited: ${worker.log.join('')}`);
    if (Date.now() - started > timeoutMs)
      throw new Error(`worker ${worker.name} did not start: ${worker.log.join('')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function stopWorkers(workers: readonly WorkerProcess[]): Promise<void> {
  await Promise.all(
    workers.map(async (w) => {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.exited;
    }),
  );
}

/** Outputs a worker log says it published (not the "already published" ones), by path. */
export function publications(workers: readonly WorkerProcess[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const w of workers) {
    for (const line of w.log.join('').split('\n')) {
      const match = /^done \S+: \d+ features → (.*?)( \(already published\))?$/.exec(line);
      if (!match || match[2]) continue;
      counts.set(match[1]!, (counts.get(match[1]!) ?? 0) + 1);
    }
  }
  return counts;
}
