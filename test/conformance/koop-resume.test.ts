/**
 * Issue 11, silent loss with `--resume`, against Koop: a run is interrupted after its first page is
 * written (SIGKILLed while Koop holds every further query, or stopped by Koop failing every further
 * query), then run again with `--resume` against a healthy Koop. The resumed run exits 0 only with
 * the exact source set (nothing missing, nothing twice); otherwise it exits non-zero with a clear
 * error. Page size 100, concurrency 1: the checkpoint holds a few pages of 3,334 when the run stops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TempDir, tempDir } from '../extract/helpers.js';
import {
  checkpointFeatures,
  errorLine,
  expectExactSetOrRefusal,
  exportLayer,
  failPermanently,
  type KoopHandle,
  koopOids,
  matrixLayers,
  stall,
  startKoop,
  waitFor,
} from './helpers.js';

const layer = matrixLayers()[0]!; // 3,334 points
const STRATEGIES = ['auto', 'offset', 'ids', 'oid-range', 'envelope'] as const;
const ARGS = ['--resume', '--page-size', '100', '--concurrency', '1', '--format', 'geojsonseq', '--quiet'];

let koop: KoopHandle;
let tmp: TempDir;
let oids: Map<number, number>;

beforeAll(async () => {
  koop = await startKoop({ layers: [layer] });
  tmp = await tempDir('arcgis-etl-koop-resume-');
  oids = await koopOids(koop, layer.name);
});
afterAll(async () => {
  koop?.setHook(undefined);
  await koop?.stop();
  await tmp?.remove();
});

/** Once the checkpoint holds a page, every further query gets `then` (stalled or failed). */
function interruptAfterFirstPage(output: string, then: typeof stall | typeof failPermanently): void {
  koop.setHook(async (req, res) => {
    if (!(req.url ?? '').split('?')[0]!.endsWith('/query')) return false;
    if ((await checkpointFeatures(output)) === 0) return false;
    return then(req, res);
  });
}

// One at a time: the hook is the server's, shared by the runs of this file.
describe.sequential('--resume against Koop never exits 0 with missing features', () => {
  it.each(STRATEGIES)(
    'killed after its first page, then resumed (%s)',
    async (strategy) => {
      const output = tmp.path(`killed-${strategy}.geojsonseq`);
      const args = ['--strategy', strategy, ...ARGS];
      interruptAfterFirstPage(output, stall);
      const kill = new AbortController();
      const first = exportLayer(koop, layer.name, output, args, { signal: kill.signal });
      let finished = false;
      void first.then(() => {
        finished = true;
      });
      await waitFor(async () => finished || (await checkpointFeatures(output)) > 0, 60_000);
      kill.abort();
      const r1 = await first;
      koop.setHook(undefined);
      if (r1.code !== null) {
        // it never wrote a page (a clear refusal before writing) or finished before the kill
        await expectExactSetOrRefusal(r1, output, 'geojsonseq', layer.features, oids);
        return;
      }
      const r2 = await exportLayer(koop, layer.name, output, args);
      await expectExactSetOrRefusal(r2, output, 'geojsonseq', layer.features, oids);
    },
    120_000,
  );

  it.each(STRATEGIES)(
    'failed by the server after its first page, then resumed (%s)',
    async (strategy) => {
      const output = tmp.path(`failed-${strategy}.geojsonseq`);
      const args = ['--strategy', strategy, ...ARGS];
      interruptAfterFirstPage(output, failPermanently);
      const r1 = await exportLayer(koop, layer.name, output, args);
      koop.setHook(undefined);
      if (r1.code === 0) {
        await expectExactSetOrRefusal(r1, output, 'geojsonseq', layer.features, oids);
        return;
      }
      expect(errorLine(r1.stderr), r1.stderr.slice(-2000)).toBeDefined();
      const r2 = await exportLayer(koop, layer.name, output, args);
      await expectExactSetOrRefusal(r2, output, 'geojsonseq', layer.features, oids);
    },
    120_000,
  );
});
