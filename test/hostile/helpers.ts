/**
 * Runs an export the way a user would (connect() + exportLayer()) and checks how it failed: an
 * EtlError with the expected code, and no output file left behind (neither the target nor its
 * `.partial`).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { type ConnectOptions, connect } from '../../src/client/connect.js';
import { type ErrorCode, EtlError } from '../../src/core/errors.js';
import type { EtlEvent } from '../../src/core/events.js';
import type { Runtime } from '../../src/core/time.js';
import { type ExportStats, exportLayer } from '../../src/features/export.js';
import type { WriterFormat } from '../../src/features/writers/types.js';

/** Backoff waits resolve at once (the wall clock is real: servers send real Date headers). */
export const INSTANT: Partial<Runtime> = { sleep: async () => {} };

export interface ExportRun {
  url: string;
  output: string;
  format?: WriterFormat;
  strategy?: 'auto' | 'offset' | 'ids' | 'oid-range' | 'envelope';
  connect?: Partial<ConnectOptions>;
  events?: EtlEvent[];
  csvExcelSafe?: boolean;
}

export async function runExport(run: ExportRun): Promise<ExportStats> {
  const events = run.events;
  const connection = await connect({
    url: run.url,
    runtime: INSTANT,
    ...(events ? { emit: (e: EtlEvent) => events.push(e) } : {}),
    ...run.connect,
  });
  try {
    return await exportLayer({
      client: connection.client,
      layerUrl: run.url,
      output: run.output,
      format: run.format ?? 'geojsonseq',
      ...(run.strategy ? { strategy: run.strategy } : {}),
      ...(run.csvExcelSafe ? { csvExcelSafe: true } : {}),
      runtime: INSTANT,
    });
  } finally {
    await connection.close();
  }
}

/** The EtlError the run failed with (fails the test if it succeeded or threw anything else). */
export async function failure(promise: Promise<unknown>): Promise<EtlError> {
  try {
    await promise;
  } catch (error) {
    expect(error, String(error)).toBeInstanceOf(EtlError);
    return error as EtlError;
  }
  throw new Error('expected the run to fail, but it succeeded');
}

/** Runs the export, expects `code`, and checks that nothing was left in the output folder. */
export async function expectFailedExport(run: ExportRun, code: ErrorCode): Promise<EtlError> {
  const error = await failure(runExport(run));
  expect(error.code, error.message).toBe(code);
  expect(existsSync(run.output)).toBe(false);
  expect(existsSync(`${run.output}.partial`)).toBe(false);
  return error;
}

/** The codes of an error and its causes, outermost first. */
export function codeChain(error: unknown): string[] {
  const out: string[] = [];
  for (let e = error, d = 0; e && d < 6; e = (e as { cause?: unknown }).cause, d++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') out.push(code);
  }
  return out;
}

export interface TempDir {
  dir: string;
  path(name: string): string;
  files(): Promise<string[]>;
  remove(): Promise<void>;
}

export async function tempDir(): Promise<TempDir> {
  const dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-hostile-'));
  return {
    dir,
    path: (name) => join(dir, name),
    files: () => readdir(dir),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
