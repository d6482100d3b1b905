/**
 * The CLI as a child process that a test can SIGKILL, and a watcher on its checkpoint (for the
 * kill-and-resume chaos tests).
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { BIN, childEnv } from '../fleet/helpers.js';

export interface Child {
  kill(): void;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export function startCli(args: readonly string[], env: Record<string, string>, script = BIN): Child {
  const child = spawn(process.execPath, [script, ...args], {
    env: childEnv(env),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stderr }));
    },
  );
  return {
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    done,
  };
}

export async function checkpointFeatures(path: string): Promise<number> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as { features?: unknown };
    return typeof parsed.features === 'number' ? parsed.features : 0;
  } catch {
    return 0; // absent (or between two atomic writes)
  }
}

/** Resolves when `until` says so, checking every 10 ms; stops when `stop` resolves first. */
export function watch(until: () => Promise<boolean>, stop: Promise<unknown>): Promise<boolean> {
  return new Promise((resolve) => {
    let over = false;
    void stop.then(() => {
      over = true;
      resolve(false);
    });
    const tick = async () => {
      if (over) return;
      if (await until()) {
        over = true;
        resolve(true);
        return;
      }
      setTimeout(tick, 10);
    };
    void tick();
  });
}
