/**
 * Runs the built CLI (dist/cli/main.js) as a real process: `npm test` builds before vitest runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface BinResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface BinOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  stdin?: string;
  timeoutMs?: number;
  /** Aborting it SIGKILLs the process (the result then has code null). */
  signal?: AbortSignal;
}

export interface StartedBin {
  child: ChildProcess;
  /** stderr so far. */
  stderr(): string;
  done: Promise<BinResult>;
}

/** Starts the CLI and returns at once (to signal it, or run another beside it). */
export function startBin(args: readonly string[], options: BinOptions = {}): StartedBin {
  if (!existsSync(BIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` (npm test does)');
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ PATH: process.env.PATH, HOME: process.env.HOME, ...options.env })) {
    if (v !== undefined) env[k] = v;
  }
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.signal ? { signal: options.signal, killSignal: 'SIGKILL' as const } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const done = new Promise<BinResult>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      if (!options.signal?.aborted) reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  child.stdin?.end(options.stdin ?? '');
  return { child, stderr: () => stderr, done };
}

export function runBin(args: readonly string[], options: BinOptions = {}): Promise<BinResult> {
  try {
    return startBin(args, options).done;
  } catch (error) {
    return Promise.reject(error);
  }
}
