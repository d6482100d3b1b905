/**
 * Resume: an export interrupted mid-way continues from its checkpoint, fetches no written page
 * again, and ends byte-identical to an uninterrupted run.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { checkpointPath, readCheckpoint } from '../../src/features/checkpoint.js';
import { exportLayer } from '../../src/features/export.js';
import type { WriterFormat } from '../../src/features/writers/types.js';
import { pointLayer, rig, startSecured, tempDir } from './helpers.js';

let emu: EmulatorHandle;
let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  emu = await startSecured({
    layers: [
      pointLayer('Points', 230),
      { service: 'Parcels', generate: { count: 90, geometry: 'mixed-polygon', seed: 5 }, maxRecordCount: 20 },
    ],
  });
  tmp = await tempDir();
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

async function run(
  service: string,
  output: string,
  format: WriterFormat,
  options: Partial<Parameters<typeof exportLayer>[0]> = {},
) {
  const r = rig(emu);
  try {
    return await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl(service),
      output,
      format,
      where: 'OBJECTID > 3',
      ...options,
    });
  } finally {
    await r.close();
  }
}

const CASES: [string, WriterFormat, 'offset' | 'ids' | 'oid-range' | 'auto'][] = [
  ['Points', 'geojsonseq', 'auto'],
  ['Points', 'geojson', 'ids'],
  ['Parcels', 'csv', 'oid-range'],
  ['Parcels', 'geojson', 'offset'],
];

describe('resume', () => {
  for (const [service, format, strategy] of CASES) {
    it(`${service} → ${format} (${strategy}): byte-identical after an abort mid-way`, async () => {
      const reference = tmp.path(`${service}-${strategy}-ref.${format}`);
      const full = await run(service, reference, format, { strategy });

      const out = tmp.path(`${service}-${strategy}.${format}`);
      const controller = new AbortController();
      const error = await run(service, out, format, {
        strategy,
        resume: true,
        concurrency: 2,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.pages === 3) controller.abort(new Error('stop'));
        },
      }).catch((e: unknown) => e);
      expect(isEtlError(error, 'ABORTED'), String(error)).toBe(true);
      expect(existsSync(out)).toBe(false);
      const checkpoint = await readCheckpoint(checkpointPath(out));
      const partial = join(dirname(out), checkpoint?.partial ?? 'none');
      expect(existsSync(partial)).toBe(true);
      // the interruption says what was written and how to go on
      expect((error as Error).message).toContain(partial);
      expect((error as Error).message).toMatch(/--resume to continue/);
      expect(checkpoint?.features).toBeGreaterThan(0);
      expect(checkpoint?.features).toBeLessThan(full.features);

      const before = emu.stats().requests.query ?? 0;
      const resumed = await run(service, out, format, { strategy, resume: true });
      expect(resumed.resumed).toBe(true);
      expect(resumed.features).toBe(full.features);
      expect(resumed.pages).toBe(full.pages - 3); // no written page fetched again
      expect((emu.stats().requests.query ?? 0) - before).toBeLessThan(full.requests);
      expect(await readFile(out)).toEqual(await readFile(reference));
      expect(existsSync(partial)).toBe(false);
      expect(existsSync(checkpointPath(out))).toBe(false);
      expect(existsSync(`${out}.lock`)).toBe(false);
    });
  }

  it('refuses a checkpoint of another export, and resume with the envelope strategy or stdout', async () => {
    const out = tmp.path('other.geojsonl');
    const controller = new AbortController();
    await run('Points', out, 'geojsonseq', {
      resume: true,
      concurrency: 1,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.pages === 2) controller.abort();
      },
    }).catch(() => {});
    const mismatch = await run('Points', out, 'geojsonseq', { resume: true, where: 'OBJECTID > 10' }).catch(
      (e: unknown) => e,
    );
    expect(isEtlError(mismatch, 'CHECKPOINT_INVALID')).toBe(true);
    expect((mismatch as Error).message).toMatch(/where differs/);
    const limited = await run('Points', out, 'geojsonseq', { resume: true, limit: 10 }).catch(
      (e: unknown) => e,
    );
    expect((limited as Error).message).toMatch(/limit differs/);
    const envelope = await run('Points', out, 'geojsonseq', { resume: true, strategy: 'envelope' }).catch(
      (e: unknown) => e,
    );
    expect(isEtlError(envelope, 'USAGE')).toBe(true);
    const stdout = await run('Points', '-', 'geojsonseq', { resume: true }).catch((e: unknown) => e);
    expect(isEtlError(stdout, 'USAGE')).toBe(true);
  });

  it('a CSV checkpoint written without the formula guard is not resumed with it (nor the reverse)', async () => {
    const out = tmp.path('guard.csv');
    const controller = new AbortController();
    await run('Points', out, 'csv', {
      resume: true,
      concurrency: 1,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.pages === 2) controller.abort();
      },
    }).catch(() => {});
    const error = await run('Points', out, 'csv', { resume: true, csvExcelSafe: true }).catch(
      (e: unknown) => e,
    );
    expect(isEtlError(error, 'CHECKPOINT_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/csvExcelSafe differs/);
    const resumed = await run('Points', out, 'csv', { resume: true });
    expect(resumed.resumed).toBe(true);
  });

  it('a damaged checkpoint is CHECKPOINT_INVALID, not a silent restart', async () => {
    const out = tmp.path('damaged.geojsonl');
    await writeFile(checkpointPath(out), '{"version":1,');
    const error = await run('Points', out, 'geojsonseq', { resume: true }).catch((e: unknown) => e);
    expect(isEtlError(error, 'CHECKPOINT_INVALID')).toBe(true);
  });

  it('without resume, a failed export leaves neither target nor partial nor checkpoint', async () => {
    const out = tmp.path('plain.geojsonl');
    const controller = new AbortController();
    const error = await run('Points', out, 'geojsonseq', {
      concurrency: 1,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.pages === 2) controller.abort();
      },
    }).catch((e: unknown) => e);
    expect(isEtlError(error, 'ABORTED')).toBe(true);
    expect((error as Error).message).toMatch(/nothing was kept \(no checkpoint\)/);
    // no target, partial file, checkpoint or lock
    expect((await readdir(dirname(out))).filter((name) => name.startsWith('plain.'))).toEqual([]);
  });
});
