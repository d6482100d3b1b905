/**
 * Fleet integration helpers: a secured emulator, real child processes (forked fixtures with an IPC
 * barrier, and the built CLI), and Redis availability. Child processes run the compiled `dist/`.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle, EmulatorOptions, LayerSpec } from '../../src/emulator/types.js';
import { type BinResult, runBin } from '../cli/run-bin.js';

export const USER = { username: 'fleet-user', password: 'Fleet-Passw0rd!' };

export const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const DIST_INDEX = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

/** Child processes import the compiled library: fail clearly when it was not built. */
export function assertBuilt(): void {
  if (!existsSync(BIN) || !existsSync(DIST_INDEX)) {
    throw new Error('dist/ is missing: run `npm run build` first (`npm test` does)');
  }
}

export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

export function pointLayer(service: string, count: number, extra: Partial<LayerSpec> = {}): LayerSpec {
  return { service, generate: { count, geometry: 'point', seed: 11 }, maxRecordCount: 50, ...extra };
}

export function startSecured(options: Partial<EmulatorOptions> = {}): Promise<EmulatorHandle> {
  return startEmulator({ users: [USER], seed: 1, ...options });
}

export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'arcgis-etl-fleet-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A minimal environment for children: no cache key, Redis URL or credentials leak in from ours. */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries({ PATH: process.env.PATH, ...extra })) {
    if (v !== undefined) env[k] = v;
  }
  return env;
}

export type CliResult = BinResult;

/** Runs `node dist/cli/main.js …` as a real process (async: the emulator lives in this process). */
export function runCli(
  args: readonly string[],
  env: Record<string, string | undefined>,
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  // Only PATH and what the test gives: no HOME, so no run falls back to the user's cache folder.
  return runBin(args, {
    env: { HOME: undefined, ...env },
    timeoutMs: options.timeoutMs ?? 20_000,
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
}

/** What a fleet worker reports after a round. */
export interface RoundResult {
  type: 'done';
  round: number;
  ok: number;
  failed: number;
  errors: string[];
  /** Counts that came back: every request must have answered the layer's count. */
  counts: number[];
  stats: { generated: number; refreshed: number; sharedHits: number; invalidated: number; failed: number };
  lockWaits: number;
  /** Local-clock expiry of the token the process holds. */
  expiresAt: number;
  doneAt: number;
}

export type WorkerMessage =
  | { type: 'ready'; pid: number }
  | RoundResult
  | { type: 'lock-wait' }
  | { type: 'refreshing'; storeKey: string; at: number }
  | { type: 'warning'; message: string }
  | { type: 'token-event'; event: { type: string; reason?: string; expiresAt?: number }; at: number }
  | { type: 'fatal'; message: string };

/** One forked fixture process with a message inbox. */
export class Worker {
  readonly child: ChildProcess;
  readonly messages: WorkerMessage[] = [];
  readonly stderr: string[] = [];
  #waiters: (() => void)[] = [];

  constructor(script: string, config: Record<string, unknown>) {
    this.child = fork(script, [], {
      env: childEnv({ FLEET_CONFIG: JSON.stringify(config) }),
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => this.stderr.push(d));
    this.child.on('message', (message) => {
      this.messages.push(message as WorkerMessage);
      this.#notify();
    });
    this.child.on('exit', () => this.#notify());
  }

  #notify(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  send(message: Record<string, unknown>): void {
    this.child.send(message);
  }

  /** The first message matching `match`, waiting up to `timeoutMs`. */
  async next<T extends WorkerMessage>(match: (m: WorkerMessage) => m is T, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const fatal = this.messages.find((m) => m.type === 'fatal');
      if (fatal) throw new Error(`worker ${this.child.pid} failed: ${JSON.stringify(fatal)}`);
      const found = this.messages.find(match);
      if (found) return found;
      if (!this.alive) {
        throw new Error(`worker ${this.child.pid} exited (${this.child.exitCode}): ${this.stderr.join('')}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`worker ${this.child.pid}: timed out waiting for a message`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Generous: a few node processes starting at once on a small CI machine take seconds. */
  ready(timeoutMs = 20_000): Promise<{ type: 'ready'; pid: number }> {
    return this.next((m): m is { type: 'ready'; pid: number } => m.type === 'ready', timeoutMs);
  }

  round(round: number, timeoutMs = 10_000): Promise<RoundResult> {
    return this.next((m): m is RoundResult => m.type === 'done' && m.round === round, timeoutMs);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill(signal);
    await exited;
  }

  /** Asks the worker to close its connections and exit; kills it if it does not within 3 s. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    try {
      this.send({ type: 'exit' });
    } catch {
      // channel already closed
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Forks `count` workers and waits until every one is ready (the barrier's first half). */
export async function startFleet(
  script: string,
  count: number,
  config: Record<string, unknown>,
): Promise<Worker[]> {
  const workers = Array.from({ length: count }, () => new Worker(script, config));
  try {
    await Promise.all(workers.map((w) => w.ready()));
  } catch (error) {
    await Promise.all(workers.map((w) => w.kill()));
    throw error;
  }
  return workers;
}

/** The barrier's second half: every worker starts round `round` on the same message. */
export function go(
  workers: readonly Worker[],
  round: number,
  extra: Record<string, unknown> = {},
): Promise<RoundResult[]> {
  for (const w of workers) w.send({ ...extra, type: 'go', round });
  return Promise.all(workers.map((w) => w.round(round)));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
